// When did the network start memorizing the wrong labels? Answered without held-out data,
// from the training set's predictions alone.
//
// Label Wave (Yuan, Feng and Liu, ICLR 2024): count the training samples whose predicted
// class changed since the previous epoch (prediction changes, PC) and smooth the counts with
// a moving average. PC falls while the network learns the easy, consistent structure; when
// it turns to fitting the samples whose labels contradict that structure, predictions start
// to churn again. The first local minimum of the smoothed curve marks the end of the
// early-learning window, the last epoch before the wrong labels are fitted.
//
// A local minimum alone is weak evidence: in a run that never memorizes (CIFAR-10, width 16,
// 15 epochs, augmentation), a dip in test accuracy made one at epoch 5, and on small generated
// data a late start of learning (chance accuracy for the first epochs) made one at epoch 6-7.
// So the audit only leaves its final outputs when memorization shows in them as well, in two
// ways at once. Let F be the samples confident learning flags on the early window (the mean
// of epochs 1 to the wave epoch):
// - at least half of F is now predicted as its given label: 29% in that CIFAR-10 run (the
//   hard-but-correct images it learns later), 51% once 44% of the wrong labels were
//   memorized in a small-data run, 95% after full memorization;
// - the final outputs flag fewer than half as many samples as F: the final pass gave up
//   most of the early window's flags. This catches the early window that learned little:
//   its flags are then mostly clean samples the final model fits (51-64% fitted on generated
//   data), but the final model still rejects the wrong labels (it flagged 0.58-0.76 times as
//   many; 0.45 at that 44% memorization, 0 after full memorization). Both counts use the
//   default by-class filter, whatever --filter the decision uses.
// Neither alone separates the measured runs; an early window that over-flags more than twice
// the wrong labels with mostly clean images could still fool both.

public enum LabelWave {
    /// Epochs averaged by the moving average (the paper's k).
    public static let smoothing = 3

    /// The moving averages of `changes` over `k` consecutive entries; entry i averages
    /// changes[i ..< i + k] (so it belongs to the epoch of changes[i + k - 1]).
    public static func movingAverage(_ changes: [Int], k: Int = smoothing) -> [Double] {
        precondition(k >= 1)
        guard changes.count >= k else { return [] }
        return (0...(changes.count - k)).map { i in Double(changes[i..<(i + k)].reduce(0, +)) / Double(k) }
    }

    /// The Label Wave epoch (1-based) from per-epoch prediction changes: `changes[e]` is the
    /// number of samples whose prediction differs between recorded epochs e and e + 1
    /// (1-based e + 1 and e + 2), so there is one entry fewer than epochs. Returns the epoch
    /// of the first strict local minimum of the moving average (the curve rises after it),
    /// or nil while the curve has only fallen (no wave yet). The epoch is the last one of the
    /// minimal average's window (what a run that stops early can know at that point), so it
    /// can lag the raw minimum by up to k - 1 epochs; at most epochs - 1, never the last.
    public static func epoch(changes: [Int], k: Int = smoothing) -> Int? {
        let a = movingAverage(changes, k: k)
        guard a.count >= 2 else { return nil }
        for i in 0..<(a.count - 1) where a[i + 1] > a[i] {
            // a[i] averages changes[i ..< i + k]; changes[j] lands on epoch j + 2.
            return i + k + 1
        }
        return nil
    }

    /// What the audit concludes about memorization from recorded dynamics.
    public struct Memorization: Sendable, Equatable {
        /// The Label Wave epoch (1-based), nil if the prediction changes never rose again.
        public var waveEpoch: Int?
        /// Samples the rule flags on the mean of epochs 1...waveEpoch (0 without a wave).
        public var flaggedAtWave: Int
        /// The share of those that the final outputs (the final clean pass, else the last
        /// epoch) predict as their given label.
        public var fittedShare: Double
        /// Samples the rule flags on the final outputs (0 without a wave: not computed).
        public var flaggedAtEnd: Int
        /// Memorization detected: a wave epoch, fittedShare >= 1/2 and flaggedAtEnd below
        /// half of flaggedAtWave.
        public var detected: Bool
    }

    /// Checks `d` for memorization (two confident-learning decisions; cheap next to an epoch).
    public static func memorization(_ d: TrainingDynamics) -> Memorization {
        guard let w = epoch(changes: d.predictionChanges) else {  // w <= epochs - 1 by construction
            return Memorization(waveEpoch: nil, flaggedAtWave: 0, fittedShare: 0, flaggedAtEnd: 0, detected: false)
        }
        let k = d.numClasses
        let early = ConfidentLearning.findIssues(probabilities: d.ruleProbabilities(.early), given: d.given, numClasses: k)
        let final = d.ruleProbabilities(.last)
        let atEnd = ConfidentLearning.findIssues(probabilities: final, given: d.given, numClasses: k).flagged.count
        let fitted = early.flagged.filter { argmax(final[($0 * k)..<($0 * k + k)]) == Int(d.given[$0]) }.count
        let share = early.flagged.isEmpty ? 0 : Double(fitted) / Double(early.flagged.count)
        return Memorization(waveEpoch: w, flaggedAtWave: early.flagged.count, fittedShare: share, flaggedAtEnd: atEnd,
                            detected: share >= 0.5 && 2 * atEnd < early.flagged.count)
    }
}
