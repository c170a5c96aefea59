// Per-sample scores of how likely a given label is wrong, all oriented the same way
// (higher = more suspicious), computed from the training dynamics recorded so far.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct NamedScore: Sendable {
    public var name: String
    /// One value per sample; higher = more likely mislabeled.
    public var values: [Float]
    public var description: String
}

public enum LabelScores {
    /// The score names in report order.
    public static let names = ["entropy", "self_confidence", "margin", "aum", "confidence", "variability",
                               "forgetting", "mean_margin"]

    /// Every score from the recorded epochs: the last epoch's snapshot scores (entropy,
    /// self-confidence, normalized margin) and the trajectory scores over all epochs so far.
    public static func compute(_ d: TrainingDynamics) -> [NamedScore] {
        let e = d.epochs, n = d.count, k = d.numClasses
        precondition(e > 0, "no recorded epochs")
        let last = e - 1
        var aum = [Float](repeating: 0, count: n), conf = [Float](repeating: 0, count: n)
        var vari = [Float](repeating: 0, count: n), forget = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var sm: Double = 0, sp: Double = 0, sp2: Double = 0
            var forgets = 0, learned = false, prevCorrect = false
            for t in 0..<e {
                sm += Double(d.logitMargin[t][i])
                let p = Double(d.probGiven[t][i])
                sp += p; sp2 += p * p
                let correct = d.predicted[t][i] == d.given[i]
                if prevCorrect && !correct { forgets += 1 }
                learned = learned || correct
                prevCorrect = correct
            }
            let mean = sp / Double(e)
            aum[i] = Float(-sm / Double(e))
            conf[i] = Float(1 - mean)
            vari[i] = Float(sqrt(max(0, sp2 / Double(e) - mean * mean)))
            // Toneva et al.: a sample never learned counts as forgotten most often.
            forget[i] = learned ? Float(forgets) : Float(e)
        }
        let mp = d.meanProbabilities
        var meanMargin = [Float](repeating: 0, count: n)
        for i in 0..<n {
            let y = Int(d.given[i])
            var other: Float = 0
            for j in 0..<k where j != y { other = max(other, mp[i * k + j]) }
            meanMargin[i] = other - mp[i * k + y]
        }
        return [
            NamedScore(name: "entropy", values: d.entropy[last], description: "softmax entropy, label-blind (the study's score), this epoch"),
            NamedScore(name: "self_confidence", values: d.probGiven[last].map { 1 - $0 }, description: "1 - p(given label), this epoch"),
            NamedScore(name: "margin", values: d.probMargin[last].map { -$0 }, description: "max other p - p(given), this epoch"),
            NamedScore(name: "aum", values: aum, description: "minus the mean logit margin over epochs (AUM)"),
            NamedScore(name: "confidence", values: conf, description: "1 - mean p(given) over epochs (cartography confidence)"),
            NamedScore(name: "variability", values: vari, description: "std of p(given) over epochs (cartography variability)"),
            NamedScore(name: "forgetting", values: forget, description: "forgetting events; never learned = epochs"),
            NamedScore(name: "mean_margin", values: meanMargin, description: "normalized margin of the epoch-averaged probabilities"),
        ]
    }
}
