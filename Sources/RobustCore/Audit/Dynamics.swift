// Training dynamics: what the network says about every training sample, epoch after epoch,
// recorded compactly (one number per sample and epoch for each quantity) plus the running
// sum of the softmax outputs (N x K) that the label audit's decision rule works on.
//
// Two ways to record (DynamicsPass): `.eval` runs a clean pass over the training set after
// each epoch (eval-mode batch norm, no augmentation; the study's protocol and the stablest
// signal, at the cost of one extra forward pass per epoch), `.train` reads the logits of the
// training step itself (augmented images, train-mode batch norm, weights before the step, as
// AUM does; free, a little noisier).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum DynamicsPass: String, Sendable, CaseIterable {
    case eval, train
}

/// Which epochs' softmax outputs the decision rule averages: all recorded epochs, the later
/// half (after the model has learned the easy structure), the last one (the final clean
/// pass, once training has finished, averaged over test-time views: by default the image and
/// its mirror image), the early-learning window (epochs
/// up to the Label Wave epoch, see LabelWave.swift), or `auto`: the last one unless the
/// network memorized the wrong labels after the early-learning window, then that window.
public enum RuleWindow: String, Sendable, CaseIterable {
    case all, late, last, early, auto
}

public final class TrainingDynamics: @unchecked Sendable {
    public let count: Int
    public let numClasses: Int
    /// The labels the network was trained on (the noisy ones in an experiment).
    public let given: [Int32]
    /// Per recorded epoch, per sample: p(given label).
    public private(set) var probGiven: [[Float]] = []
    /// Logit margin: z_given - max_{j != given} z_j (AUM's quantity).
    public private(set) var logitMargin: [[Float]] = []
    /// Probability margin: p_given - max_{j != given} p_j (cleanlab's normalized margin).
    public private(set) var probMargin: [[Float]] = []
    /// Softmax entropy in nats, label-blind (the study's score).
    public private(set) var entropy: [[Float]] = []
    public private(set) var predicted: [[Int32]] = []
    /// Per recorded epoch after the first: how many samples' predicted class differs from
    /// the previous epoch's (Label Wave's prediction changes; epochs - 1 entries).
    public private(set) var predictionChanges: [Int] = []
    /// Per recorded epoch, the softmax outputs, count x numClasses (the decision rule can
    /// average any window of them; 20 MB for CIFAR-10 over 10 epochs).
    public private(set) var probabilities: [[Float]] = []
    /// A clean pass after training (eval mode, averaged over test-time views: by default each
    /// image and its mirror image); count x numClasses.
    public var finalCleanPass: [Float]?
    private var currentProbabilities: [Float] = []

    private var current: (pg: [Float], lm: [Float], pm: [Float], h: [Float], pred: [Int32], seen: [Bool])?
    private var row: [Float]

    public var epochs: Int { probGiven.count }

    public init(given: [Int32], numClasses: Int) {
        precondition(numClasses >= 2 && given.allSatisfy { $0 >= 0 && Int($0) < numClasses })
        self.given = given
        count = given.count
        self.numClasses = numClasses
        row = [Float](repeating: 0, count: numClasses)
    }

    public func beginEpoch() {
        precondition(current == nil, "beginEpoch twice")
        let z = [Float](repeating: .nan, count: count)
        current = (z, z, z, z, [Int32](repeating: -1, count: count), [Bool](repeating: false, count: count))
        currentProbabilities = [Float](repeating: 0, count: count * numClasses)
    }

    /// Records sample i's logits (numClasses values).
    public func record(sample i: Int, logits z: UnsafePointer<Float>) {
        precondition(current != nil, "record outside an epoch")
        let k = numClasses, y = Int(given[i])
        row.withUnsafeMutableBufferPointer { p in
            softmax(z, p.baseAddress!, rows: 1, cols: k)
            var best = 0, otherZ = -Float.infinity, otherP: Float = 0
            for j in 0..<k {
                if p[j] > p[best] { best = j }
                if j != y { otherZ = max(otherZ, z[j]); otherP = max(otherP, p[j]) }
            }
            current!.pg[i] = p[y]
            current!.lm[i] = z[y] - otherZ
            current!.pm[i] = p[y] - otherP
            current!.h[i] = RobustCore.entropy(p.baseAddress!, count: k)
            current!.pred[i] = Int32(best)
            current!.seen[i] = true
            for j in 0..<k { currentProbabilities[i * k + j] = p[j] }
        }
    }

    /// Records a whole pass: logits count x numClasses.
    public func record(allLogits z: [Float]) {
        precondition(z.count == count * numClasses)
        z.withUnsafeBufferPointer { zp in
            for i in 0..<count { record(sample: i, logits: zp.baseAddress! + i * numClasses) }
        }
    }

    /// Closes the epoch; every sample must have been recorded once.
    public func endEpoch() {
        guard let c = current else { preconditionFailure("endEpoch without beginEpoch") }
        precondition(c.seen.allSatisfy { $0 }, "an epoch of dynamics missed samples")
        if let previous = predicted.last {
            var changed = 0
            for i in 0..<count where previous[i] != c.pred[i] { changed += 1 }
            predictionChanges.append(changed)
        }
        probGiven.append(c.pg); logitMargin.append(c.lm); probMargin.append(c.pm)
        entropy.append(c.h); predicted.append(c.pred)
        probabilities.append(currentProbabilities)
        currentProbabilities = []
        current = nil
    }

    /// Mean softmax output over the recorded epochs, count x numClasses.
    public var meanProbabilities: [Float] { meanProbabilities(epochs: 0..<epochs) }

    /// Mean softmax output over a window of recorded epochs (0-based).
    public func meanProbabilities(epochs r: Range<Int>) -> [Float] {
        precondition(!r.isEmpty && r.lowerBound >= 0 && r.upperBound <= epochs)
        var m = [Float](repeating: 0, count: count * numClasses)
        for e in r {
            let pe = probabilities[e]
            for i in m.indices { m[i] += pe[i] }
        }
        let inv = 1 / Float(r.count)
        for i in m.indices { m[i] *= inv }
        return m
    }

    /// The probabilities the decision rule works on.
    public func ruleProbabilities(_ w: RuleWindow) -> [Float] {
        switch w {
        case .all: return meanProbabilities
        case .late: return meanProbabilities(epochs: (epochs / 2)..<epochs)
        case .last: return finalCleanPass ?? probabilities[epochs - 1]
        case .early:
            let w = LabelWave.epoch(changes: predictionChanges) ?? epochs
            return meanProbabilities(epochs: 0..<w)  // w <= epochs - 1
        case .auto: return ruleProbabilities(resolvedWindow(.auto))
        }
    }

    /// The window `w` decides on: `.auto` is `.early` when memorization is detected, else
    /// `.last`; every other window is itself. Pass `memorization` when it is already known
    /// (it costs one confident-learning decision).
    public func resolvedWindow(_ w: RuleWindow, memorization: LabelWave.Memorization? = nil) -> RuleWindow {
        guard w == .auto else { return w }
        return (memorization ?? LabelWave.memorization(self)).detected ? .early : .last
    }

    /// Writes the per-sample, per-epoch quantities (each [epochs, count]), the mean
    /// probabilities and the labels as safetensors (numpy reads it with a few lines, see
    /// bench/plot_label_noise.py). `truth` adds the true labels and the noise mask.
    public func write(_ path: String, truth: [Int32]?, metadata: [String: String] = [:],
                      extra: [(name: String, probabilities: [Float])] = []) throws {
        var w = SafeTensorsWriter()
        for x in extra { w.add(x.name, shape: [count, numClasses], floats: x.probabilities) }
        let e = epochs
        w.add("prob_given", shape: [e, count], floats: probGiven.flatMap { $0 })
        w.add("logit_margin", shape: [e, count], floats: logitMargin.flatMap { $0 })
        w.add("prob_margin", shape: [e, count], floats: probMargin.flatMap { $0 })
        w.add("entropy", shape: [e, count], floats: entropy.flatMap { $0 })
        w.add("predicted", shape: [e, count], int64s: predicted.flatMap { $0.map(Int64.init) })
        w.add("mean_probabilities", shape: [count, numClasses], floats: meanProbabilities)
        w.add("late_probabilities", shape: [count, numClasses], floats: ruleProbabilities(.late))
        w.add("last_probabilities", shape: [count, numClasses], floats: ruleProbabilities(.last))
        w.add("early_probabilities", shape: [count, numClasses], floats: ruleProbabilities(.early))
        if e > 1 { w.add("prediction_changes", shape: [e - 1], int64s: predictionChanges.map(Int64.init)) }
        w.add("given_labels", shape: [count], int64s: given.map(Int64.init))
        if let t = truth {
            w.add("true_labels", shape: [count], int64s: t.map(Int64.init))
            w.add("mislabeled", shape: [count], int64s: zip(given, t).map { $0 != $1 ? 1 : 0 })
        }
        w.metadata = metadata
        try w.write(path)
    }
}
