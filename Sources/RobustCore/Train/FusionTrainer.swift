// Training FusionNet: the CIFAR recipe of Trainer (same optimizer, schedule, loss and
// augmentation) with a metadata claim per image and modality dropout.
//
// The claims: each training image gets one tag for the whole run, equal to its label with
// probability metaAgree, else a uniformly chosen other class (metadata that sometimes lies).
// Each step, per sample, the claim is replaced by the missing token with probability
// metaDropout and the image features are zeroed with probability imageDropout (never both:
// a sample with neither input teaches nothing, so the image is kept then).

public struct FusionConfig: Sendable, Equatable {
    public var train = TrainConfig()
    public var hidden = 64
    public var metaAgree = 1.0
    public var metaDropout = 0.0
    public var imageDropout = 0.0
    public init() {}

    public func validate() throws {
        try train.validate()
        for (name, v) in [("meta agreement", metaAgree), ("metadata dropout", metaDropout), ("image dropout", imageDropout)]
            where !(v.isFinite && (0...1).contains(v)) {
            throw RobustError.invalidArgument("invalid fusion configuration: \(name) \(v) is not in [0, 1]")
        }
        guard (1...65536).contains(hidden) else { throw RobustError.invalidArgument("invalid fusion configuration: hidden \(hidden)") }
    }
}

/// The claim tags of a dataset: label with probability `agree`, else another class (seeded).
public func metadataTags(labels: [Int32], classes k: Int, agree: Double, seed: UInt64) -> [Int32] {
    var rng = RNG.derived(seed: seed, 0x7A65)
    return labels.map { y in
        guard k > 1, Double(rng.uniform()) >= agree else { return y }
        let other = rng.int(k - 1)
        return Int32(other >= Int(y) ? other + 1 : other)
    }
}

/// For each label, a uniformly chosen other class (seeded): the conflict test's claims.
public func contradictingTags(labels: [Int32], classes k: Int, seed: UInt64) -> [Int32] {
    metadataTags(labels: labels, classes: k, agree: 0, seed: seed)
}

public final class FusionTrainer {
    public let config: FusionConfig
    public let model: FusionNet
    public let info: FusionInfo
    public let train: Dataset
    /// The training images' claims (fixed for the run).
    public let tags: [Int32]
    public private(set) var epoch = 0, step = 0
    let optimizer: SGD
    let schedule: CosineSchedule
    let lossFn: SoftmaxCrossEntropy
    let batcher: Batcher
    let input = Tensor([0])
    var labels: [Int32] = []

    public init(config: FusionConfig, train: Dataset, normalization: Normalization = .cifar10) throws {
        try config.validate()
        self.config = config
        self.train = train
        let k = train.classNames.count
        model = FusionNet(width: config.train.width, numClasses: k, hidden: config.hidden)
        model.initialize(seed: config.train.seed)
        info = FusionInfo(width: config.train.width, classNames: train.classNames, hidden: config.hidden, normalization: normalization)
        tags = metadataTags(labels: train.labels, classes: k, agree: config.metaAgree, seed: config.train.seed)
        optimizer = SGD(model.parameters, momentum: config.train.momentum, weightDecay: config.train.weightDecay,
                        nesterov: config.train.nesterov)
        let spe = (train.count + config.train.batchSize - 1) / config.train.batchSize
        schedule = CosineSchedule(baseLR: config.train.lr, totalSteps: spe * config.train.epochs,
                                  warmupSteps: Int(config.train.warmupEpochs * Double(spe)))
        lossFn = SoftmaxCrossEntropy(labelSmoothing: config.train.labelSmoothing)
        batcher = Batcher(normalization: normalization)
    }

    public var isFinished: Bool { epoch >= config.train.epochs }

    /// One epoch; returns (mean loss, training accuracy) on what the model saw (with dropout).
    @discardableResult
    public func runEpoch(progress: ((Int, Int, Double) -> Void)? = nil) -> (loss: Double, accuracy: Double) {
        var idx = Array(0..<train.count)
        var orderRNG = RNG.derived(seed: config.train.seed, 0x5EED_0000 &+ UInt64(epoch))
        orderRNG.shuffle(&idx)
        let b = config.train.batchSize
        var lossSum = 0.0, correct = 0, start = 0
        while start < idx.count {
            let end = min(idx.count, start + b)
            let batch = idx[start..<end]
            batcher.fill(input, labels: &labels, from: train, indices: batch,
                         augment: config.train.augment ? Augmentation() : nil, seed: config.train.seed,
                         tagBase: UInt64(epoch) &* 1_000_003 &+ UInt64(start))
            var meta = batch.map { tags[$0] }
            var keep = [Bool](repeating: true, count: batch.count)
            var rng = RNG.derived(seed: config.train.seed ^ 0xD209, UInt64(step))
            for j in 0..<batch.count {
                let dropMeta = Double(rng.uniform()) < config.metaDropout
                let dropImage = Double(rng.uniform()) < config.imageDropout
                if dropMeta { meta[j] = FusionNet.missing }
                if dropImage && !dropMeta { keep[j] = false }
            }
            let logits = model.forward(input, meta: meta, keepImage: keep, mode: .train)
            let r = labels.withUnsafeBufferPointer { lossFn(logits, $0) }
            model.backward(lossFn.inputGrad)
            optimizer.step(lr: schedule.lr(at: Double(step)))
            step += 1
            lossSum += Double(r.loss) * Double(batch.count)
            correct += r.correct
            start = end
            progress?(start, idx.count, lossSum / Double(start))
        }
        epoch += 1
        return (lossSum / Double(max(train.count, 1)), Double(correct) / Double(max(train.count, 1)))
    }
}

public enum FusionEvaluator {
    /// Softmax outputs [N, K] of the model in eval mode for images `ds` with claims `meta`
    /// (FusionNet.missing for none); `imageOff` zeroes every image's features (metadata alone).
    public static func probabilities(_ model: FusionNet, _ ds: Dataset, meta: [Int32], imageOff: Bool = false,
                                     normalization: Normalization, batchSize: Int = 256) -> [Float] {
        precondition(meta.count == ds.count)
        let k = model.numClasses
        var out = [Float](repeating: 0, count: ds.count * k)
        let batcher = Batcher(normalization: normalization)
        let input = Tensor([0])
        var labels: [Int32] = []
        let all = Array(0..<ds.count)
        var start = 0
        while start < ds.count {
            let end = min(ds.count, start + batchSize)
            batcher.fill(input, labels: &labels, from: ds, indices: all[start..<end], augment: nil)
            let logits = model.forward(input, meta: Array(meta[start..<end]),
                                       keepImage: imageOff ? [Bool](repeating: false, count: end - start) : nil, mode: .eval)
            out.withUnsafeMutableBufferPointer { softmax(logits.data, $0.baseAddress! + start * k, rows: end - start, cols: k) }
            start = end
        }
        return out
    }

    /// The arg max of each row.
    public static func predicted(_ probs: [Float], classes k: Int) -> [Int32] {
        stride(from: 0, to: probs.count, by: k).map { o in
            var best = 0
            for j in 1..<k where probs[o + j] > probs[o + best] { best = j }
            return Int32(best)
        }
    }
}
