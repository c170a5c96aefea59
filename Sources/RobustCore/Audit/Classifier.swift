// A trained model ready to score images, safe to share between threads.
//
// A network object holds its activations, so one instance cannot run two forward passes at
// once. The classifier keeps a pool of replicas built from the same weights: a call takes one
// (making it if none is free), scores, and gives it back. Results do not depend on which
// replica or thread served them: every replica computes exactly the same thing.
//
// A FusionNet file (image + claimed class) works too: its image-only path (the claim given as
// missing) scores images and judges claims, so a claim cannot vouch for itself; its fused
// path (image and claim together) is reported beside it.
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

    /// The network: a ResNet-18, or a FusionNet (its image encoder plus a metadata branch).
    enum Network {
        case resnet(ResNet18), fusion(FusionNet)
    }

    /// True for a model with a metadata branch (FusionNet).
    public let hasMetadata: Bool
    /// The loaded weights; never run, only copied into replicas.
    private let master: Network
    private var free: [Network] = []
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
        if st.metadata["architecture"] == FusionInfo.architecture || st.entry("image_encoder.conv1.weight") != nil {
            let (model, fi) = try ModelIO.loadFusion(st)
            var info = fi.image
            info.architecture = FusionInfo.architecture
            self.info = info
            master = .fusion(model)
            hasMetadata = true
        } else {
            let (model, info) = try ModelIO.loadResNet(st)
            self.info = info
            master = .resnet(model)
            hasMetadata = false
        }
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
        try scoreWithMetadata(images, claimed: claimed, policy: policy, fused: false).map(\.image)
    }

    /// Scores with, for a FusionNet, the fused prediction too: `image` is the image-only
    /// score (its verdict judges the claim), `fused` the image and claim together (nil for a
    /// ResNet-18, or with `fused` false).
    public func scoreWithMetadata(_ images: [RGBImage], claimed: [Int?]? = nil, policy: ConflictPolicy = .init(),
                                  fused: Bool = true) throws -> [(image: Score, fused: Score?)] {
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
        let n = images.count, k = classNames.count
        let (probs, fusedProbs) = withReplica { model -> ([Float], [Float]?) in
            let input = Tensor([0])
            var labels: [Int32] = []
            batcher.fill(input, labels: &labels, from: ds, indices: Array(0..<n)[...], augment: nil)
            func softmaxed(_ logits: Tensor) -> [Float] {
                var p = [Float](repeating: 0, count: n * k)
                p.withUnsafeMutableBufferPointer { softmax(logits.data, $0.baseAddress!, rows: n, cols: k) }
                return p
            }
            switch model {
            case .resnet(let net):
                return (softmaxed(net.forward(input, mode: .eval)), nil)
            case .fusion(let net):
                let feats = net.image.encode(input, mode: .eval)
                let image = softmaxed(net.fuse(feats, meta: [Int32](repeating: FusionNet.missing, count: n), mode: .eval))
                guard fused else { return (image, nil) }
                let claims = (0..<n).map { i in claimed?[i].map { Int32($0) } ?? FusionNet.missing }
                return (image, softmaxed(net.fuse(feats, meta: claims, mode: .eval)))
            }
        }
        return (0..<n).map { i in
            (Score(probabilities: Array(probs[(i * k)..<((i + 1) * k)]), classNames: classNames, claimed: claimed?[i], policy: policy),
             fusedProbs.map { Score(probabilities: Array($0[(i * k)..<((i + 1) * k)]), classNames: classNames, claimed: nil) })
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

    private func withReplica<T>(_ body: (Network) throws -> T) rethrows -> T {
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
    private func replica() -> Network {
        func copy(_ to: [Parameter], _ from: [Parameter], _ toCounters: [Counter], _ fromCounters: [Counter]) {
            for (a, b) in zip(to, from) {
                a.value.copy(from: b.value)
                a.markModified()
            }
            for (a, b) in zip(toCounters, fromCounters) { a.value = b.value }
        }
        switch master {
        case .resnet(let m):
            let r = ResNet18(width: info.width, numClasses: classNames.count)
            copy(r.parameters, m.parameters, r.counters, m.counters)
            return .resnet(r)
        case .fusion(let m):
            let r = FusionNet(width: info.width, numClasses: classNames.count, hidden: m.hidden)
            copy(r.parameters, m.parameters, r.counters, m.counters)
            return .fusion(r)
        }
    }
}
