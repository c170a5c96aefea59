// Out-of-sample probabilities by K-fold cross-validation (the practice confident learning
// and cleanlab recommend): each sample's softmax output comes from a model that never saw
// it, so a memorized wrong label cannot vouch for itself. Costs K trainings on (K-1)/K of
// the data.

public enum CrossValidation {
    /// Fold of each sample: a seeded shuffle dealt round-robin within each class, so every
    /// fold holds each class in proportion.
    public static func folds(labels: [Int32], k: Int, seed: UInt64) -> [Int] {
        precondition(k >= 2)
        var fold = [Int](repeating: 0, count: labels.count)
        var order = Array(labels.indices)
        var rng = RNG.derived(seed: seed, 0xF01D)
        rng.shuffle(&order)
        var next = [Int32: Int]()
        for i in order {
            let f = next[labels[i], default: 0]
            fold[i] = f
            next[labels[i]] = (f + 1) % k
        }
        return fold
    }

    /// count x classes out-of-sample probabilities for `train` (labels as given), each fold
    /// predicted by a model trained with `config` on the other folds. `onEpoch(fold, log)`
    /// reports progress.
    public static func outOfSampleProbabilities(_ train: Dataset, config: TrainConfig, folds k: Int,
                                                normalization: Normalization = .cifar10,
                                                onEpoch: ((Int, EpochLog) -> Void)? = nil) -> [Float] {
        let n = train.count, c = train.classNames.count
        let fold = folds(labels: train.labels, k: k, seed: config.seed)
        var out = [Float](repeating: 0, count: n * c)
        for f in 0..<k {
            let inFold = (0..<n).filter { fold[$0] == f }, rest = (0..<n).filter { fold[$0] != f }
            var cfg = config
            cfg.seed = config.seed &+ UInt64(f + 1)
            let t = Trainer(config: cfg, train: train.subset(rest), test: nil, normalization: normalization)
            while !t.isFinished {
                let log = t.runEpoch()
                onEpoch?(f, log)
            }
            let p = Evaluator.predict(t.model, train.subset(inFold), normalization: normalization).probabilities
            for (j, i) in inFold.enumerated() { for m in 0..<c { out[i * c + m] = p[j * c + m] } }
        }
        return out
    }
}
