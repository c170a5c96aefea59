// Robustness sweeps: accuracy, confidence and entropy of a model on corrupted copies of a
// test set, one corruption and level at a time.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One corruption at one level, measured.
public struct RobustnessRow: Sendable {
    /// "clean", a CIFAR-10-C kind ("gaussian_noise"), or the study's sweep name ("noise", "blur").
    public var corruption: String
    /// noise, blur, digital, weather; "study" for the sweeps, "clean" for the clean row.
    public var family: String
    /// The severity (1-5) for the suite, sigma for the study's sweeps, 0 for clean.
    public var level: Double
    public var images: Int
    public var accuracy: Double
    /// Mean over images of the largest softmax probability.
    public var meanConfidence: Double
    /// Mean softmax entropy in nats.
    public var meanEntropy: Double
    /// The class predicted most often and its share of the images: a model that collapses onto
    /// one class under heavy damage shows here (clean CIFAR-10: about 10%).
    public var mostPredicted: String = ""
    public var mostPredictedShare: Double = 0
    public var seconds: Double

    public init(corruption: String, family: String, level: Double, images: Int, accuracy: Double,
                meanConfidence: Double, meanEntropy: Double, seconds: Double) {
        self.corruption = corruption; self.family = family; self.level = level; self.images = images
        self.accuracy = accuracy; self.meanConfidence = meanConfidence; self.meanEntropy = meanEntropy; self.seconds = seconds
    }
}

public enum Robustness {
    /// Corrupts `data` (seeded per image) and evaluates the model on it.
    public static func measure(_ model: ResNet18, normalization: Normalization, data: Dataset, corruption: Corruption?,
                               name: String, family: String, level: Double, seed: UInt64, batchSize: Int = 256) throws -> RobustnessRow {
        let t0 = monotonicSeconds()
        let ds = try corruption.map { try data.corrupted(by: $0, seed: seed) } ?? data
        let p = Evaluator.predict(model, ds, normalization: normalization, batchSize: batchSize)
        let k = p.numClasses
        var conf = 0.0, ent = 0.0
        for i in 0..<ds.count {
            var top: Float = 0, h = 0.0
            for j in 0..<k {
                let q = p.probabilities[i * k + j]
                top = max(top, q)
                if q > 0 { h -= Double(q) * log(Double(q)) }
            }
            conf += Double(top); ent += h
        }
        let n = Double(max(ds.count, 1))
        var counts = [Int](repeating: 0, count: k)
        for c in p.predicted { counts[Int(c)] += 1 }
        let top = counts.indices.max { counts[$0] < counts[$1] } ?? 0
        var row = RobustnessRow(corruption: name, family: family, level: level, images: ds.count, accuracy: p.accuracy,
                                meanConfidence: conf / n, meanEntropy: ent / n, seconds: monotonicSeconds() - t0)
        row.mostPredicted = top < ds.classNames.count ? ds.classNames[top] : String(top)
        row.mostPredictedShare = Double(counts[top]) / n
        return row
    }

    /// Mean accuracy per corruption over its rows, in first-seen order.
    public static func meanAccuracy(byCorruption rows: [RobustnessRow]) -> [(String, Double)] {
        var order: [String] = [], sums: [String: (Double, Int)] = [:]
        for r in rows {
            if sums[r.corruption] == nil { order.append(r.corruption) }
            let s = sums[r.corruption] ?? (0, 0)
            sums[r.corruption] = (s.0 + r.accuracy, s.1 + 1)
        }
        return order.map { ($0, sums[$0]!.0 / Double(sums[$0]!.1)) }
    }

    /// Evenly spread indices: `n` of `count`, the same every time (a class-sorted test set
    /// keeps its class balance).
    public static func spreadSample(count: Int, n: Int) -> [Int] {
        guard n < count else { return Array(0..<count) }
        return (0..<n).map { $0 * count / n }
    }
}
