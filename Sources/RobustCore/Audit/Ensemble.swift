// An ensemble auditor: the softmax outputs of several trainings on the same (noisy) labels
// that differ only in their seed (initialization, batch order, augmentation), averaged.
//
// Why: one audited model's mistakes are not random. The clean-but-hard images it gets wrong
// and the wrong class it suggests for a truly mislabeled image follow that model, and a
// student retrained on its suggestions inherits them. Independently seeded members disagree
// on many of those mistakes, and their average is a better-calibrated, more accurate teacher
// (the usual gain of deep ensembles), at the cost of one training per extra member.

public enum AuditEnsemble {
    /// The seed of extra member `m` (1-based) of an ensemble around `seed`: hashed, so that
    /// no member repeats the audited run, another member, or a member of an ensemble around
    /// a neighbouring seed (seed replicates stay independent).
    public static func memberSeed(_ seed: UInt64, member m: Int) -> UInt64 {
        var r = RNG.derived(seed: seed, 0xE45E_0000 &+ UInt64(m))
        return r.next()
    }

    /// count x classes probabilities on `train` of `members` extra models, each trained with
    /// `config` on all of `train` (labels as given) under `memberSeed(config.seed, m)`, and
    /// scored by one clean pass averaged over `views` test-time views (the rule's `last`
    /// window; 2: flip averaging), in order.
    /// `onEpoch(member, log)` reports training progress, `onScoring(member, done, total)` the
    /// final pass's (once per batch: images done of total), and `afterMember(member, trainer)`
    /// sees each finished training (to save its model); members are 1-based.
    public static func trainMembers(_ train: Dataset, config: TrainConfig, members: Int,
                                    normalization: Normalization = .cifar10, views: Int = 2,
                                    onEpoch: ((Int, EpochLog) -> Void)? = nil,
                                    onScoring: ((_ member: Int, _ done: Int, _ total: Int) -> Void)? = nil,
                                    afterMember: (Int, Trainer) throws -> Void = { _, _ in }) rethrows -> [[Float]] {
        precondition(members >= 0)
        var out: [[Float]] = []
        for m in stride(from: 1, through: members, by: 1) {
            var cfg = config
            cfg.seed = memberSeed(config.seed, member: m)
            let t = Trainer(config: cfg, train: train, test: nil, normalization: normalization)
            while !t.isFinished {
                let log = t.runEpoch()
                onEpoch?(m, log)
            }
            let scored = Evaluator.predict(t.model, train, normalization: normalization, views: views,
                                           progress: onScoring.map { f in { done, total in f(m, done, total) } })
            out.append(scored.probabilities)
            try afterMember(m, t)
        }
        return out
    }

    /// The element-wise mean of equally shaped probability tables (each row stays a
    /// distribution).
    public static func average(_ tables: [[Float]]) -> [Float] {
        precondition(!tables.isEmpty && tables.allSatisfy { $0.count == tables[0].count }, "tables of different shapes")
        var m = tables[0]
        for t in tables.dropFirst() { for i in m.indices { m[i] += t[i] } }
        let inv = 1 / Float(tables.count)
        for i in m.indices { m[i] *= inv }
        return m
    }
}
