// A trained model ready to score images, safe to share between threads.
//
// A network object holds its activations, so one instance cannot run two forward passes at
// once. The classifier keeps a pool of replicas built from the same weights: a call takes one
// (making it if none is free), scores, and gives it back. Results do not depend on which
// replica or thread served them: every replica computes exactly the same thing.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class Classifier: @unchecked Sendable {
    public let info: ModelInfo
    /// Images above this many pixels are refused before decoding (decompression bombs).
    public var maxPixels: Int = ImageCodec.defaultMaxPixels
    /// The largest batch one call may score.
    public static let maxBatch = 4096

    /// The loaded weights; never run, only copied into replicas.
    private let master: ResNet18
    private var free: [ResNet18] = []
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private let batcher: Batcher

    /// From a safetensors model file (ours, or a PyTorch state_dict of this architecture).
    public convenience init(path: String) throws {
        try self.init(SafeTensors.load(path))
    }

    public convenience init(bytes: [UInt8], source: String = "<memory>") throws {
        try self.init(SafeTensors(bytes: bytes, source: source))
    }

    public init(_ st: SafeTensors) throws {
        let (model, info) = try ModelIO.loadResNet(st)
        self.info = info
        self.master = model
        self.batcher = Batcher(normalization: info.normalization)
        lock = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
    }

    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    public var classNames: [String] { info.classNames }

    /// The class index of a name (exact match, or case-insensitive when unambiguous), or of a
    /// decimal index. Throws for anything else, listing the known names.
    public func classIndex(_ name: String) throws -> Int {
        if let i = classNames.firstIndex(of: name) { return i }
        let lower = name.lowercased()
        let matches = classNames.indices.filter { classNames[$0].lowercased() == lower }
        if matches.count == 1 { return matches[0] }
        if let i = Int(name), classNames.indices.contains(i) { return i }
        throw RobustError.unknownClass(name: name, known: classNames)
    }

    // MARK: Scoring

    /// Scores decoded images (any size: each is resized to the model's input).
    public func score(_ images: [RGBImage], claimed: [Int?]? = nil, policy: ConflictPolicy = .init()) throws -> [Score] {
        guard images.count <= Classifier.maxBatch else {
            throw RobustError.invalidArgument("batch of \(images.count) images exceeds the maximum of \(Classifier.maxBatch)")
        }
        if let c = claimed {
            guard c.count == images.count else { throw RobustError.invalidArgument("\(c.count) claims for \(images.count) images") }
            for case let k? in c where !classNames.indices.contains(k) {
                throw RobustError.invalidArgument("claimed class \(k) is not in 0..<\(classNames.count)")
            }
        }
        if images.isEmpty { return [] }
        let s = info.inputSize
        var ds = Dataset(height: s, width: s, classNames: classNames)
        ds.pixels.reserveCapacity(images.count * s * s * 3)
        for img in images {
            guard img.width > 0, img.height > 0, img.pixels.count == img.width * img.height * 3 else {
                throw RobustError.invalidArgument("image of \(img.width)x\(img.height) with \(img.pixels.count) bytes (need width*height*3 > 0)")
            }
            ds.pixels += ImageCodec.resize(img, width: s, height: s).pixels
        }
        ds.labels = [Int32](repeating: 0, count: images.count)
        let probs = withReplica { model -> [Float] in
            let input = Tensor([0])
            var labels: [Int32] = []
            batcher.fill(input, labels: &labels, from: ds, indices: Array(0..<images.count)[...], augment: nil)
            let logits = model.forward(input, mode: .eval)
            var p = [Float](repeating: 0, count: images.count * classNames.count)
            p.withUnsafeMutableBufferPointer { softmax(logits.data, $0.baseAddress!, rows: images.count, cols: classNames.count) }
            return p
        }
        let k = classNames.count
        return images.indices.map { i in
            Score(probabilities: Array(probs[(i * k)..<((i + 1) * k)]), classNames: classNames,
                  claimed: claimed?[i], policy: policy)
        }
    }

    public func score(_ image: RGBImage, claimed: Int? = nil, policy: ConflictPolicy = .init()) throws -> Score {
        try score([image], claimed: [claimed], policy: policy)[0]
    }

    /// PNG or JPEG bytes.
    public func score(encoded bytes: [UInt8], source: String = "<memory>", claimed: Int? = nil,
                      policy: ConflictPolicy = .init()) throws -> Score {
        try score(ImageCodec.decode(bytes, source: source, maxPixels: maxPixels), claimed: claimed, policy: policy)
    }

    public func score(path: String, claimed: Int? = nil, policy: ConflictPolicy = .init()) throws -> Score {
        try score(ImageCodec.decodeFile(path, maxPixels: maxPixels), claimed: claimed, policy: policy)
    }

    /// accept / review / reject for an upload; bytes that do not decode are rejected as
    /// unreadable. With policy.quality the image's quality measures come back too.
    public func gate(encoded bytes: [UInt8], source: String = "<memory>", claimed: Int?,
                     policy: GatePolicy = .init()) throws -> (GateDecision, GateReasons, Score?) {
        let g = try gateWithQuality(encoded: bytes, source: source, claimed: claimed, policy: policy)
        return (g.decision, g.reasons, g.score)
    }

    public struct GateResult: Sendable {
        public var decision: GateDecision
        public var reasons: GateReasons
        public var score: Score?
        public var quality: ImageQuality?
        public var qualityFlags: QualityFlags
    }

    public func gateWithQuality(encoded bytes: [UInt8], source: String = "<memory>", claimed: Int?,
                                policy: GatePolicy = .init()) throws -> GateResult {
        let img: RGBImage
        do { img = try ImageCodec.decode(bytes, source: source, maxPixels: maxPixels) } catch let e as RobustError {
            if case .decode = e { return GateResult(decision: .reject, reasons: .unreadable, score: nil, quality: nil, qualityFlags: []) }
            throw e
        }
        let s = try score(img, claimed: claimed, policy: policy.conflict)
        let q = policy.quality.map { $0.measure(img) }
        let flags = q.map { policy.quality!.flags($0) } ?? []
        let (d, r) = policy.decide(s, quality: flags)
        return GateResult(decision: d, reasons: r, score: s, quality: q, qualityFlags: flags)
    }

    // MARK: The replica pool

    private func withReplica<T>(_ body: (ResNet18) throws -> T) rethrows -> T {
        pthread_mutex_lock(lock)
        let m = free.popLast()
        pthread_mutex_unlock(lock)
        let model = m ?? replica()
        defer {
            pthread_mutex_lock(lock)
            free.append(model)
            pthread_mutex_unlock(lock)
        }
        return try body(model)
    }

    /// A new network with the master's weights, buffers and counters.
    private func replica() -> ResNet18 {
        let r = ResNet18(width: info.width, numClasses: classNames.count)
        for (a, b) in zip(r.parameters, master.parameters) {
            a.value.copy(from: b.value)
            a.markModified()
        }
        for (a, b) in zip(r.counters, master.counters) { a.value = b.value }
        return r
    }
}
