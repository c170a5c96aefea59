// Early-learning regularization (Liu et al. 2020, "Early-Learning Regularization Prevents
// Memorization of Noisy Labels"): the study's finding, that a network first learns the clean
// pattern and only later fits the wrong labels, used during training.
//
// Each sample keeps a running average of the network's own predictions, t <- b t + (1 - b) p
// (updated every time the sample is seen; p detached). The loss gains
//     lambda * mean_n log(1 - <p_n, t_n>),
// which rewards agreeing with the sample's early, mostly clean prediction. Its gradient on a
// logit, lambda * p_j (<p,t> - t_j) / (1 - <p,t>), pushes towards the running prediction; on a
// wrong label whose running prediction names the true class it cancels the cross-entropy's
// pull towards the wrong label. Unlike self-adaptive training the label itself is kept: the
// regularizer counters it only where the network's own history disagrees with it.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class EarlyLearningRegularizer: @unchecked Sendable {
    public let count: Int
    public let numClasses: Int
    /// lambda: the regularizer's weight against the cross-entropy (the paper: 3 on CIFAR-10).
    public let weight: Float
    /// b: momentum of the running prediction (the paper: 0.7 on CIFAR-10).
    public let momentum: Float
    /// [count, numClasses]: each sample's running prediction; zeros before it is first seen.
    public private(set) var targets: [Float]
    /// Probabilities are clamped to [clamp, 1 - clamp] inside the regularizer, as in the
    /// paper's code, so that log(1 - <p,t>) stays finite when the network is certain.
    public static let clamp: Float = 1e-4

    public init(count: Int, numClasses: Int, weight: Float = 3, momentum: Float = 0.7) {
        precondition(count > 0 && numClasses >= 2)
        precondition(weight.isFinite && weight >= 0 && momentum >= 0 && momentum < 1)
        self.count = count
        self.numClasses = numClasses
        self.weight = weight
        self.momentum = momentum
        targets = [Float](repeating: 0, count: count * numClasses)
    }

    /// Updates the running predictions of the batch's samples `indices` from its softmax
    /// outputs `p` [B, K], then adds the regularizer's gradient (d/d logits) to `grad` [B, K].
    /// Rows are averaged as the cross-entropy averages them: by B, or with per-sample
    /// `weights` [B] (soft targets, self-adaptive training) by sum(w), so a sample the loss
    /// sets aside (weight 0) is not pulled either. Returns the regularizer's value for the batch.
    /// `update: false` leaves the running predictions as they are (gradient checks).
    @discardableResult
    public func apply(_ indices: ArraySlice<Int>, probabilities p: UnsafePointer<Float>,
                      grad: UnsafeMutablePointer<Float>, weights: UnsafePointer<Float>? = nil,
                      update: Bool = true) -> Float {
        let k = numClasses, n = indices.count
        let lo = Self.clamp, hi = 1 - Self.clamp
        var wsum = 0.0
        for b in 0..<n { wsum += Double(weights?[b] ?? 1) }
        let norm = wsum > 0 ? 1 / wsum : 0
        var total = 0.0
        targets.withUnsafeMutableBufferPointer { tb in
            for (b, i) in indices.enumerated() {
                precondition(i >= 0 && i < count, "sample index \(i) outside the regularizer's \(count) samples")
                let pr = p + b * k, g = grad + b * k, t = tb.baseAddress! + i * k
                var s: Float = 0
                for j in 0..<k { s += min(max(pr[j], lo), hi) }
                if update { for j in 0..<k { t[j] = momentum * t[j] + (1 - momentum) * min(max(pr[j], lo), hi) / s } }
                // r = <clamp(p), t>; S = sum over unclamped classes of t_k p_k (the clamp passes no gradient).
                var r: Float = 0, sIn: Float = 0
                for j in 0..<k {
                    let pc = min(max(pr[j], lo), hi)
                    r += pc * t[j]
                    let inside: Float = pr[j] > lo && pr[j] < hi ? 1 : 0
                    sIn += inside * t[j] * pr[j]
                }
                let oneMinus = max(1 - r, Float.leastNormalMagnitude)
                let wb = Double(weights?[b] ?? 1)
                total += wb * Double(log(oneMinus))
                let scale = weight * Float(wb * norm)
                for j in 0..<k {
                    let inside: Float = pr[j] > lo && pr[j] < hi ? 1 : 0
                    g[j] += scale * pr[j] * (sIn - inside * t[j]) / oneMinus
                }
            }
        }
        return Float(Double(weight) * total * norm)
    }
}
