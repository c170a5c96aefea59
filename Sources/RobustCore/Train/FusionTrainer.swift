// Training FusionNet: the CIFAR recipe of Trainer (same optimizer, schedule, loss and
// augmentation) with a metadata claim per image and modality dropout.
//
// The claims: each training image gets one tag for the whole run, equal to its label with
// probability metaAgree, else a uniformly chosen other class (metadata that sometimes lies).
// Each step, per sample, the claim is replaced by the missing token with probability
// metaDropout and the image features are zeroed with probability imageDropout (never both:
// a sample with neither input teaches nothing, so the image is kept then).
//
// Staged training (a cure for the shortcut that needs no dropout schedule): the image encoder
// starts from a trained ResNet-18 and, with freezeImage, stays fixed. The metadata encoder
// and the head then learn on the encoder's features, computed once per image (eval mode, no
// augmentation), so an epoch costs almost nothing and the image path cannot be starved by
// the easier metadata path.

public struct FusionConfig: Sendable, Equatable {
    public var train = TrainConfig()
    public var hidden = 64
    public var metaAgree = 1.0
    public var metaDropout = 0.0
    public var imageDropout = 0.0
    /// Keep the image encoder fixed (use with a trained encoder): only the metadata encoder
    /// and the head learn, on features computed once.
    public var freezeImage = false
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

    /// Frozen encoder: the training images' features [N, 8w], computed once.
    var frozenFeatures: Tensor?
    let featureBatch = Tensor([0])

    /// `imageEncoder`: a trained ResNet-18 of the same width and classes to start the image
    /// encoder from (its linear layer is not used); nil starts from random weights.
    /// `trainFeatures`: with freezeImage, the encoder's features of `train` when the caller
    /// already has them (several recipes on one encoder); computed here otherwise.
    /// `tags`: the training images' claims when the data has them (a metadata column; the
    /// missing token where an image has none); nil draws them from the labels by metaAgree.
    public init(config: FusionConfig, train: Dataset, imageEncoder: ResNet18? = nil, trainFeatures: Tensor? = nil,
                normalization: Normalization = .cifar10, tags givenTags: [Int32]? = nil,
                progress: ((Int, Int) -> Void)? = nil) throws {
        try config.validate()
        self.config = config
        self.train = train
        let k = train.classNames.count
        model = FusionNet(width: config.train.width, numClasses: k, hidden: config.hidden)
        model.initialize(seed: config.train.seed)
        if let e = imageEncoder {
            guard e.width == config.train.width, e.numClasses == k else {
                throw RobustError.invalidArgument("image encoder of width \(e.width) with \(e.numClasses) classes does not fit a FusionNet of width \(config.train.width) with \(k) classes")
            }
            for (a, b) in zip(model.image.parameters, e.parameters) { a.value.copy(from: b.value); a.markModified() }
            for (a, b) in zip(model.image.counters, e.counters) { a.value = b.value }
        } else if config.freezeImage {
            throw RobustError.invalidArgument("a frozen image encoder needs trained weights to start from")
        }
        info = FusionInfo(width: config.train.width, classNames: train.classNames, hidden: config.hidden, normalization: normalization)
        if let t = givenTags {
            guard t.count == train.count, t.allSatisfy({ $0 == FusionNet.missing || (0..<Int32(k)).contains($0) }) else {
                throw RobustError.invalidArgument("metadata tags: \(t.count) for \(train.count) images, each a class index or the missing token")
            }
            tags = t
        } else {
            tags = metadataTags(labels: train.labels, classes: k, agree: config.metaAgree, seed: config.train.seed)
        }
        let trained = config.freezeImage ? model.fusionParameters : model.parameters
        optimizer = SGD(trained, momentum: config.train.momentum, weightDecay: config.train.weightDecay,
                        nesterov: config.train.nesterov)
        let spe = (train.count + config.train.batchSize - 1) / config.train.batchSize
        schedule = CosineSchedule(baseLR: config.train.lr, totalSteps: spe * config.train.epochs,
                                  warmupSteps: Int(config.train.warmupEpochs * Double(spe)))
        lossFn = SoftmaxCrossEntropy(labelSmoothing: config.train.labelSmoothing)
        batcher = Batcher(normalization: normalization)
        if config.freezeImage {
            if let f = trainFeatures {
                guard f.shape == [train.count, model.featureCount] else {
                    throw RobustError.invalidArgument("training features \(f.shape) do not fit \(train.count) images of width \(config.train.width)")
                }
                frozenFeatures = f
            } else {
                frozenFeatures = FusionEvaluator.features(model, train, normalization: normalization, progress: progress)
            }
        }
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
            if frozenFeatures == nil {
                batcher.fill(input, labels: &labels, from: train, indices: batch,
                             augment: config.train.augment ? Augmentation() : nil, seed: config.train.seed,
                             tagBase: UInt64(epoch) &* 1_000_003 &+ UInt64(start))
            } else {
                labels = batch.map { train.labels[$0] }
            }
            var meta = batch.map { tags[$0] }
            var keep = [Bool](repeating: true, count: batch.count)
            var rng = RNG.derived(seed: config.train.seed ^ 0xD209, UInt64(step))
            for j in 0..<batch.count {
                let dropMeta = Double(rng.uniform()) < config.metaDropout
                let dropImage = Double(rng.uniform()) < config.imageDropout
                if dropMeta { meta[j] = FusionNet.missing }
                if dropImage && !dropMeta { keep[j] = false }
            }
            let logits: Tensor
            if let feats = frozenFeatures {
                let f = model.featureCount
                featureBatch.reshape([batch.count, f])
                for (j, i) in batch.enumerated() { (featureBatch.data + j * f).update(from: feats.data + i * f, count: f) }
                logits = model.fuse(featureBatch, meta: meta, keepImage: keep, mode: .train)
            } else {
                logits = model.forward(input, meta: meta, keepImage: keep, mode: .train)
            }
            let r = labels.withUnsafeBufferPointer { lossFn(logits, $0) }
            model.backward(lossFn.inputGrad, throughImage: frozenFeatures == nil)
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
    /// The image encoder's pooled features [N, 8w] of every image of `ds`, in eval mode: what
    /// every measure of a FusionNet starts from (the claims only change the layers after it).
    public static func features(_ model: FusionNet, _ ds: Dataset, normalization: Normalization,
                                batchSize: Int = 256, progress: ((Int, Int) -> Void)? = nil) -> Tensor {
        features(encoder: model.image, ds, normalization: normalization, batchSize: batchSize, progress: progress)
    }

    /// The pooled features [N, 8w] of a ResNet-18 (a FusionNet's encoder, or a trained
    /// classifier that one starts from).
    public static func features(encoder model: ResNet18, _ ds: Dataset, normalization: Normalization,
                                batchSize: Int = 256, progress: ((Int, Int) -> Void)? = nil) -> Tensor {
        let f = 8 * model.width
        let out = Tensor([ds.count, f])
        Evaluator.forEachInput(ds, normalization: normalization, batchSize: batchSize) { r, input in
            let feats = model.encode(input, mode: .eval)
            (out.data + r.lowerBound * f).update(from: feats.data, count: r.count * f)
            progress?(r.upperBound, ds.count)
        }
        return out
    }

    /// Softmax outputs [N, K] for precomputed features with claims `meta` (FusionNet.missing
    /// for none); `imageOff` zeroes every image's features (the metadata alone).
    public static func probabilities(_ model: FusionNet, features: Tensor, meta: [Int32], imageOff: Bool = false) -> [Float] {
        let n = features.shape[0], f = model.featureCount, k = model.numClasses
        precondition(meta.count == n && features.shape == [n, f])
        var out = [Float](repeating: 0, count: n * k)
        let chunk = Tensor([0])
        var start = 0
        while start < n {
            let end = min(n, start + 1024)
            chunk.reshape([end - start, f])
            chunk.data.update(from: features.data + start * f, count: (end - start) * f)
            let logits = model.fuse(chunk, meta: Array(meta[start..<end]),
                                    keepImage: imageOff ? [Bool](repeating: false, count: end - start) : nil, mode: .eval)
            out.withUnsafeMutableBufferPointer { softmax(logits.data, $0.baseAddress! + start * k, rows: end - start, cols: k) }
            start = end
        }
        return out
    }

    /// Softmax outputs [N, K] of the model in eval mode for images `ds` with claims `meta`.
    public static func probabilities(_ model: FusionNet, _ ds: Dataset, meta: [Int32], imageOff: Bool = false,
                                     normalization: Normalization, batchSize: Int = 256) -> [Float] {
        precondition(meta.count == ds.count)
        return probabilities(model, features: features(model, ds, normalization: normalization, batchSize: batchSize),
                             meta: meta, imageOff: imageOff)
    }

    /// The arg max of each row.
    public static func predicted(_ probs: [Float], classes k: Int) -> [Int32] {
        rowArgmax(probs, width: k)
    }
}
