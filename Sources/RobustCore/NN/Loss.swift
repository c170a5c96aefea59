// Softmax cross-entropy with optional label smoothing, as torch.nn.CrossEntropyLoss:
// target distribution q = (1 - eps) * onehot + eps / K, loss = mean_n( -sum_k q_k log p_k ).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct LossResult: Sendable {
    public var loss: Float
    public var correct: Int
}

public final class SoftmaxCrossEntropy: @unchecked Sendable {
    public var labelSmoothing: Float
    public let probabilities = Tensor([0])
    public let inputGrad = Tensor([0])

    public init(labelSmoothing: Float = 0) { self.labelSmoothing = labelSmoothing }

    /// Loss of logits [N, K] against labels; fills `probabilities` and `inputGrad` (d loss / d logits).
    public func callAsFunction(_ logits: Tensor, _ labels: UnsafeBufferPointer<Int32>) -> LossResult {
        let n = logits.shape[0], k = logits.shape[1]
        precondition(labels.count >= n)
        probabilities.reshape([n, k])
        inputGrad.reshape([n, k])
        softmax(logits.data, probabilities.data, rows: n, cols: k)
        let eps = labelSmoothing
        let off = eps / Float(k), on = 1 - eps + off
        var total = 0.0
        var correct = 0
        for i in 0..<n {
            let x = logits.data + i * k, p = probabilities.data + i * k, g = inputGrad.data + i * k
            let y = Int(labels[i])
            let lse = logSumExp(x, count: k)
            var rowLoss = 0.0
            var best = 0
            for j in 0..<k {
                let q = j == y ? on : off
                rowLoss -= Double(q) * (Double(x[j]) - lse)
                g[j] = (p[j] - q) / Float(n)
                if p[j] > p[best] { best = j }
            }
            if best == y { correct += 1 }
            total += rowLoss
        }
        return LossResult(loss: Float(total / Double(n)), correct: correct)
    }
}

extension SoftmaxCrossEntropy {
    /// Loss of logits [N, K] against per-sample target distributions (rows of `targets`, each
    /// summing to 1: a corrected or soft label) with per-sample weights w (nil: all 1):
    /// loss = sum_n w_n * ( -sum_k q_nk log p_nk ) / sum_n w_n, where q = (1 - eps) * target + eps / K
    /// as for hard labels. With one-hot targets and unit weights it equals the hard-label loss.
    /// `correct` counts rows whose arg max matches the target's arg max.
    public func callAsFunction(_ logits: Tensor, targets: UnsafePointer<Float>, weights: UnsafePointer<Float>?) -> LossResult {
        let n = logits.shape[0], k = logits.shape[1]
        probabilities.reshape([n, k])
        inputGrad.reshape([n, k])
        softmax(logits.data, probabilities.data, rows: n, cols: k)
        let eps = labelSmoothing, off = eps / Float(k)
        var wsum = 0.0
        for i in 0..<n { wsum += Double(weights?[i] ?? 1) }
        // All-zero weights (every sample of the batch set aside) give no loss and no gradient.
        let scale = wsum > 0 ? 1 / wsum : 0
        var total = 0.0
        var correct = 0
        for i in 0..<n {
            let x = logits.data + i * k, p = probabilities.data + i * k, g = inputGrad.data + i * k, t = targets + i * k
            let w = Double(weights?[i] ?? 1)
            let lse = logSumExp(x, count: k)
            var rowLoss = 0.0
            var best = 0, bestTarget = 0
            for j in 0..<k {
                let q = (1 - eps) * t[j] + off
                rowLoss -= Double(q) * (Double(x[j]) - lse)
                // d/dx_j of -sum q log softmax(x) = p_j * sum(q) - q_j; sum(q) = 1 for a distribution.
                g[j] = Float(w * scale) * (p[j] - q)
                if p[j] > p[best] { best = j }
                if t[j] > t[bestTarget] { bestTarget = j }
            }
            if best == bestTarget { correct += 1 }
            total += w * rowLoss
        }
        return LossResult(loss: Float(total * scale), correct: correct)
    }
}

/// log sum_j exp(x_j) of one logit row, in double precision and max-subtracted, so that
/// log p_j = x_j - logSumExp(x) comes from the logits without clamping, as in PyTorch.
func logSumExp(_ x: UnsafePointer<Float>, count k: Int) -> Double {
    var mx = -Double.infinity
    for j in 0..<k { mx = max(mx, Double(x[j])) }
    var se = 0.0
    for j in 0..<k { se += exp(Double(x[j]) - mx) }
    return mx + log(se)
}

/// Row-wise softmax, max-subtracted for stability.
public func softmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
    for i in 0..<rows {
        let xr = x + i * cols, yr = y + i * cols
        var mx = -Float.infinity
        for j in 0..<cols { mx = max(mx, xr[j]) }
        var s: Float = 0
        for j in 0..<cols { let e = expf(xr[j] - mx); yr[j] = e; s += e }
        let inv = 1 / s
        for j in 0..<cols { yr[j] *= inv }
    }
}

/// Softmax entropy in nats of one probability row.
public func entropy(_ p: UnsafePointer<Float>, count: Int) -> Float {
    var h: Float = 0
    for j in 0..<count where p[j] > 0 { h -= p[j] * logf(p[j]) }
    return h
}
