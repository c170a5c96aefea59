// Per-sample training targets that replace the dataset's one-hot labels: how the label
// audit cleans data without throwing samples away.
//
// Two uses:
// - Soft relabeling: a finished audit replaces each flagged sample's label by the model's
//   probabilities for it (its belief over the classes, not only its top class), weighted by
//   the confidence of that belief, and a new model is trained on the result.
// - Self-adaptive training (Huang et al. 2020, "Self-Adaptive Training: beyond Empirical Risk
//   Minimization"): from a chosen epoch (the end of the early-learning phase, before the
//   network memorizes wrong labels) every sample's target moves towards the network's own
//   prediction each time it is seen, t <- m t + (1 - m) p, and each sample's weight is
//   max_k t_k, so samples whose target is contested count less. Wrong labels are corrected
//   during the one training run instead of after it.

public final class LabelTargets: @unchecked Sendable {
    public let count: Int
    public let numClasses: Int
    /// [count, numClasses]: each row a distribution.
    public private(set) var values: [Float]
    /// Per-sample loss weights; nil: all 1.
    public private(set) var weights: [Float]?
    /// Self-adaptive training: the momentum m of the target update; nil keeps the targets fixed.
    public var momentum: Float?
    /// Self-adaptive training updates the targets only from this epoch (0-based) on.
    public var updateFromEpoch = 0
    /// Self-adaptive training weights each sample by max_k t_k once its target has moved.
    public var weightByConfidence = true

    /// One-hot targets of `labels` (unit weights): the dataset's labels, before any correction.
    public init(labels: [Int32], numClasses k: Int) {
        precondition(k >= 2)
        count = labels.count
        numClasses = k
        values = [Float](repeating: 0, count: labels.count * k)
        for (i, y) in labels.enumerated() {
            precondition(y >= 0 && Int(y) < k, "label \(y) out of range")
            values[i * k + Int(y)] = 1
        }
    }

    /// Explicit targets; rows must be distributions (non-negative, summing to 1 within 1e-3),
    /// weights non-negative.
    public init(values: [Float], numClasses k: Int, weights: [Float]? = nil) throws {
        guard k >= 2, values.count % k == 0 else {
            throw RobustError.invalidArgument("targets: \(values.count) values are not rows of \(k) classes")
        }
        let n = values.count / k
        for i in 0..<n {
            var s: Float = 0
            for j in 0..<k {
                let v = values[i * k + j]
                guard v.isFinite, v >= 0 else { throw RobustError.invalidArgument("targets: row \(i) has the value \(v)") }
                s += v
            }
            guard abs(s - 1) <= 1e-3 else { throw RobustError.invalidArgument("targets: row \(i) sums to \(s), not 1") }
        }
        if let w = weights {
            guard w.count == n else { throw RobustError.invalidArgument("targets: \(w.count) weights for \(n) rows") }
            guard w.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw RobustError.invalidArgument("targets: negative or non-finite weight") }
        }
        count = n
        numClasses = k
        self.values = values
        self.weights = weights
    }

    /// The arg max of each target row: the label a hard relabeling would give.
    public var hardLabels: [Int32] {
        rowArgmax(values, width: numClasses)
    }

    /// Whether the targets move during `epoch` (0-based): self-adaptive and past its start.
    func isUpdating(atEpoch epoch: Int) -> Bool { momentum != nil && epoch >= updateFromEpoch }

    /// Copies the target rows (and weights) of `indices` into `rows` [B, K] and `w` [B].
    func gather(_ indices: ArraySlice<Int>, rows: inout [Float], weights w: inout [Float]) {
        let k = numClasses
        rows.removeAll(keepingCapacity: true)
        w.removeAll(keepingCapacity: true)
        for i in indices {
            rows.append(contentsOf: values[(i * k)..<(i * k + k)])
            w.append(weights?[i] ?? 1)
        }
    }

    /// Self-adaptive update of the targets of `indices` from the batch's softmax outputs
    /// `probabilities` [B, K] (computed before the optimizer step), when `epoch` has reached
    /// `updateFromEpoch`.
    func update(_ indices: ArraySlice<Int>, probabilities: UnsafePointer<Float>, epoch: Int) {
        guard isUpdating(atEpoch: epoch), let m = momentum else { return }
        let k = numClasses
        if weightByConfidence && weights == nil { weights = [Float](repeating: 1, count: count) }
        for (b, i) in indices.enumerated() {
            var mx: Float = 0
            for j in 0..<k {
                let v = m * values[i * k + j] + (1 - m) * probabilities[b * k + j]
                values[i * k + j] = v
                mx = max(mx, v)
            }
            if weightByConfidence { weights![i] = mx }
        }
    }
}
