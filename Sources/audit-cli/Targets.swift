// Label correction options shared by the training commands: soft targets from a file
// (written by `audit-labels --targets-out`) and self-adaptive training.
import ArgumentParser
import RobustCore

struct CorrectionOptions: ParsableArguments {
    @Option(help: "Self-adaptive training: from this epoch on (1-based; 0 = off) move each sample's target towards the network's prediction and weight it by its target's confidence, correcting wrong labels during training.")
    var selfAdaptiveFrom = 0
    @Option(help: "Self-adaptive training: momentum m of the target update t <- m t + (1 - m) p, once per epoch per sample.")
    var selfAdaptiveMomentum: Float = 0.9
    @Option(help: "Early-learning regularization (Liu et al. 2020): weight lambda of the term lambda * log(1 - <p, t>) that holds each sample's prediction p near its running average t, so wrong labels are not learned (0 = off; the paper uses 3).")
    var elrWeight: Float = 0
    @Option(help: "Early-learning regularization: momentum b of the running prediction t <- b t + (1 - b) p, updated each time a sample is seen (default 0.7; needs --elr-weight).")
    var elrMomentum: Float?
    /// The momentum in use: the paper's CIFAR-10 value unless given.
    var earlyLearningMomentum: Float { elrMomentum ?? 0.7 }

    func validate() throws {
        guard elrWeight.isFinite, elrWeight >= 0 else { throw ValidationError("--elr-weight must be at least 0") }
        if let m = elrMomentum {
            guard m.isFinite, m >= 0, m < 1 else { throw ValidationError("--elr-momentum must lie in [0, 1)") }
            if elrWeight == 0 { throw ValidationError("--elr-momentum needs --elr-weight (above 0): without it there is no regularization") }
        }
        if selfAdaptiveFrom < 0 { throw ValidationError("--self-adaptive-from must be at least 0") }
        guard selfAdaptiveMomentum.isFinite, selfAdaptiveMomentum >= 0, selfAdaptiveMomentum < 1 else {
            throw ValidationError("--self-adaptive-momentum must lie in [0, 1)")
        }
    }

    var enabled: Bool { selfAdaptiveFrom > 0 }
    var earlyLearningEnabled: Bool { elrWeight > 0 }

    /// The early-learning regularizer for `count` samples, or nil when off.
    func earlyLearning(count: Int, numClasses: Int) -> EarlyLearningRegularizer? {
        guard earlyLearningEnabled else { return nil }
        return EarlyLearningRegularizer(count: count, numClasses: numClasses, weight: elrWeight, momentum: earlyLearningMomentum)
    }

    /// How the run corrects labels, for the log.
    var earlyLearningNote: String {
        "early-learning regularization, weight \(fmt(Double(elrWeight), 2)), momentum \(fmt(Double(earlyLearningMomentum), 2))"
    }

    /// Rejects a start epoch the run never reaches (the option would silently do nothing).
    func check(epochs: Int) throws {
        if selfAdaptiveFrom > epochs { throw ValidationError("--self-adaptive-from \(selfAdaptiveFrom) lies beyond the run's \(epochs) epochs") }
    }

    /// Self-adaptive targets starting from `labels`, or nil when off.
    func targets(labels: [Int32], numClasses: Int) -> LabelTargets? {
        guard enabled else { return nil }
        let t = LabelTargets(labels: labels, numClasses: numClasses)
        apply(to: t)
        return t
    }

    /// Makes `t` self-adaptive with these options.
    func apply(to t: LabelTargets) {
        t.momentum = selfAdaptiveMomentum
        t.updateFromEpoch = selfAdaptiveFrom - 1
    }
}

/// Writes targets as safetensors: `targets` [N, K], `weights` [N] and the labels they were
/// made from, `given_labels` [N], rows in the dataset's order; the metadata holds a hash of
/// the image paths, so the file cannot be paired with another dataset or order.
func writeTargets(_ t: LabelTargets, for ds: Dataset, to path: String) throws {
    precondition(t.count == ds.count)
    var w = SafeTensorsWriter()
    w.add("targets", shape: [t.count, t.numClasses], floats: t.values)
    w.add("weights", shape: [t.count], floats: t.weights ?? [Float](repeating: 1, count: t.count))
    w.add("given_labels", shape: [ds.count], int64s: ds.labels.map(Int64.init))
    w.metadata = ["class_names": JSON.array(ds.classNames.map { .string($0) }).serialized,
                  "sources_fnv1a": sourcesHash(ds),
                  "format": "robust label targets: one row per training sample, in the dataset's order"]
    try w.write(path)
}

/// FNV-1a 64 of the dataset's image paths in order, as hex.
func sourcesHash(_ ds: Dataset) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for s in ds.sources {
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        h = (h ^ 0x0A) &* 0x100_0000_01b3
    }
    return String(h, radix: 16)
}

/// Reads targets written by `writeTargets` for `ds` (same sample count and classes).
func loadTargets(_ path: String, for ds: Dataset) throws -> LabelTargets {
    let st = try SafeTensors.load(path)
    guard st.entry("targets") != nil else { throw RobustError.format(path: path, reason: "no 'targets' tensor") }
    if let names = st.metadata["class_names"] {
        let expected = JSON.array(ds.classNames.map { .string($0) }).serialized
        guard names == expected else { throw RobustError.invalidArgument("\(path): targets for classes \(names), the data has \(expected)") }
    }
    let v = try st.floats("targets")
    let w = st.entry("weights") != nil ? try st.floats("weights") : nil
    guard v.count == ds.count * ds.classNames.count else {
        throw RobustError.invalidArgument("\(path): \(v.count / max(ds.classNames.count, 1)) target rows for \(ds.count) training images")
    }
    if let h = st.metadata["sources_fnv1a"], h != sourcesHash(ds) {
        throw RobustError.invalidArgument("\(path): made for other images or another order (image paths differ); write it again with audit-labels --targets-out on this data")
    }
    if st.entry("given_labels") != nil {
        let g = try st.int64s("given_labels")
        guard g.count == ds.count, zip(g, ds.labels).allSatisfy({ $0 == Int64($1) }) else {
            throw RobustError.invalidArgument("\(path): made from other labels than this run's (pass the same --labels file it was made with)")
        }
    }
    do { return try LabelTargets(values: v, numClasses: ds.classNames.count, weights: w) } catch {
        throw RobustError.format(path: path, reason: "\(error)")
    }
}
