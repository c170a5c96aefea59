// Synthetic label noise for experiments: which samples get a wrong label, and which one.
//
// Symmetric: exactly round(rate * N) samples, chosen by a seeded shuffle, each get one of the
// other K-1 classes uniformly, so every chosen label really changes (the study's "20% noise"
// is 20% wrong labels, not 20% resampled ones of which a tenth land on the true class).
// Asymmetric: the standard CIFAR-10 flips (Patrini et al. 2017): truck -> automobile,
// bird -> airplane, cat <-> dog, deer -> horse; exactly round(rate * n_c) samples of each
// source class c change, the other classes keep their labels.

public enum NoiseKind: String, Sendable, CaseIterable {
    case symmetric, asymmetric
}

public struct NoisyLabels: Sendable, Equatable {
    /// The labels training sees.
    public var given: [Int32]
    /// The dataset's own labels.
    public var truth: [Int32]

    public var isMislabeled: [Bool] { zip(given, truth).map { $0 != $1 } }
    public var mislabeledCount: Int { zip(given, truth).reduce(0) { $0 + ($1.0 != $1.1 ? 1 : 0) } }

    public init(given: [Int32], truth: [Int32]) {
        precondition(given.count == truth.count)
        self.given = given; self.truth = truth
    }

    /// Noise of `kind` at `rate` (0...1) on `labels` over `classNames`. Asymmetric noise
    /// needs the CIFAR-10 class names among them (the pairs are looked up by name; a class
    /// outside the pairs keeps its labels).
    public static func inject(_ labels: [Int32], classNames: [String], kind: NoiseKind, rate: Double,
                              seed: UInt64) throws -> NoisyLabels {
        let k = classNames.count
        guard rate.isFinite, (0...1).contains(rate) else { throw RobustError.invalidArgument("noise rate \(rate) is not in [0, 1]") }
        guard k >= 2 else { throw RobustError.invalidArgument("label noise needs at least 2 classes, the data has \(k)") }
        guard labels.allSatisfy({ $0 >= 0 && Int($0) < k }) else { throw RobustError.invalidArgument("labels outside 0..<\(k)") }
        var given = labels
        var rng = RNG.derived(seed: seed, 0x4E01_5E00 &+ UInt64(kind == .symmetric ? 0 : 1))
        switch kind {
        case .symmetric:
            var order = Array(0..<labels.count)
            rng.shuffle(&order)
            let n = Int((rate * Double(labels.count)).rounded())
            for i in order.prefix(n) {
                let shift = 1 + rng.int(k - 1)  // 1...k-1: never the same class
                given[i] = Int32((Int(labels[i]) + shift) % k)
            }
        case .asymmetric:
            let pairs = asymmetricPairs(classNames)
            guard !pairs.isEmpty else {
                throw RobustError.invalidArgument("asymmetric noise uses the CIFAR-10 pairs (truck->automobile, bird->airplane, cat<->dog, deer->horse); the data has none of them")
            }
            for (src, dst) in pairs.sorted(by: { $0.key < $1.key }) {
                var members = labels.indices.filter { Int(labels[$0]) == src }
                rng.shuffle(&members)
                let n = Int((rate * Double(members.count)).rounded())
                for i in members.prefix(n) { given[i] = Int32(dst) }
            }
        }
        return NoisyLabels(given: given, truth: labels)
    }

    /// source class index -> target class index, for the CIFAR-10 pairs present by name.
    public static func asymmetricPairs(_ classNames: [String]) -> [Int: Int] {
        let names = [("truck", "automobile"), ("bird", "airplane"), ("cat", "dog"), ("dog", "cat"), ("deer", "horse")]
        var out: [Int: Int] = [:]
        for (a, b) in names {
            if let i = classNames.firstIndex(of: a), let j = classNames.firstIndex(of: b) { out[i] = j }
        }
        return out
    }
}

/// The share of the test-accuracy gap between training on noisy labels and training on the
/// true ones that a cleaned run closes: (cleaned - noisy) / (clean - noisy). 1 when the cleaned
/// run matches the true labels, 0 when it gains nothing, negative when it loses accuracy, above
/// 1 when it beats the true labels. nil when the true labels do not beat the noisy ones: there
/// is no gap, and a ratio of two run-to-run differences would say nothing.
public func gapClosed(noisy: Double, cleaned: Double, clean: Double) -> Double? {
    guard clean > noisy, noisy.isFinite, cleaned.isFinite, clean.isFinite else { return nil }
    return (cleaned - noisy) / (clean - noisy)
}
