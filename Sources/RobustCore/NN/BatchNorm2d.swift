// Batch normalization over [C, N, H, W], exactly as PyTorch's BatchNorm2d:
// training normalizes with the batch's biased variance and updates the running
// statistics with momentum 0.1 and the unbiased variance; evaluation uses the running ones.
// An optional ReLU is fused in (y = max(0, bn(x))) to save a pass over memory.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class BatchNorm2d: Module, @unchecked Sendable {
    public let weight: Parameter, bias: Parameter
    public let runningMean: Parameter, runningVar: Parameter
    public let numBatchesTracked: Counter
    public let channels: Int
    public let relu: Bool
    public var momentum: Float = 0.1
    public var eps: Float = 1e-5
    public let output = Tensor([0])
    public let inputGrad = Tensor([0])
    private var input: Tensor?
    private var mean: [Float], invStd: [Float]

    public init(_ name: String, channels: Int, relu: Bool = false) {
        self.channels = channels
        self.relu = relu
        weight = Parameter(name + ".weight", [channels])
        bias = Parameter(name + ".bias", [channels])
        runningMean = Parameter(name + ".running_mean", [channels], trainable: false)
        runningVar = Parameter(name + ".running_var", [channels], trainable: false)
        numBatchesTracked = Counter(name + ".num_batches_tracked")
        weight.value.fill(1)
        runningVar.value.fill(1)
        mean = Array(repeating: 0, count: channels)
        invStd = Array(repeating: 1, count: channels)
    }

    public var parameters: [Parameter] { [weight, bias, runningMean, runningVar] }
    public var counters: [Counter] { [numBatchesTracked] }

    @discardableResult
    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        precondition(x.shape.count == 4 && x.shape[0] == channels, "BatchNorm2d expects [\(channels), N, H, W], got \(x.shape)")
        output.reshape(x.shape)
        let m = x.count / channels
        nonisolated(unsafe) let xp = x.data, yp = output.data
        let relu = self.relu
        if mode == .train {
            input = x
            let eps = self.eps, mom = self.momentum
            nonisolated(unsafe) let g = weight.value.data, b = bias.value.data
            nonisolated(unsafe) let rm = runningMean.value.data, rv = runningVar.value.data
            var meanOut = mean, invOut = invStd
            meanOut.withUnsafeMutableBufferPointer { mb in
                invOut.withUnsafeMutableBufferPointer { ib in
                    nonisolated(unsafe) let mb = mb, ib = ib
                    parallelFor(channels) { c in
                        let xc = xp + c * m
                        let mu = Float(sum(xc, m) / Double(m))
                        let ss = sumSquaredDeviation(xc, m, mean: mu)
                        let varBiased = Float(ss / Double(m))
                        let varUnbiased = Float(ss / Double(max(m - 1, 1)))
                        let inv = 1 / (varBiased + eps).squareRoot()
                        mb[c] = mu; ib[c] = inv
                        rm[c] = (1 - mom) * rm[c] + mom * mu
                        rv[c] = (1 - mom) * rv[c] + mom * varUnbiased
                        let scale = g[c] * inv, shift = b[c] - mu * scale
                        affine(xc, yp + c * m, m, scale, shift, relu)
                    }
                }
            }
            mean = meanOut; invStd = invOut
            numBatchesTracked.value += 1
        } else {
            input = nil
            let eps = self.eps
            nonisolated(unsafe) let g = weight.value.data, b = bias.value.data
            nonisolated(unsafe) let rm = runningMean.value.data, rv = runningVar.value.data
            parallelFor(channels) { c in
                let scale = g[c] / (rv[c] + eps).squareRoot()
                affine(xp + c * m, yp + c * m, m, scale, rm[c] * -scale + b[c], relu)
            }
        }
        return output
    }

    /// dy is the gradient of this layer's output (after the fused ReLU, when there is one).
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("BatchNorm2d.backward without a training forward") }
        inputGrad.reshape(x.shape)
        let m = x.count / channels
        nonisolated(unsafe) let xp = x.data, yp = output.data, dyp = dy.data, dxp = inputGrad.data
        nonisolated(unsafe) let g = weight.value.data
        nonisolated(unsafe) let dg = weight.grad!.data, db = bias.grad!.data
        let relu = self.relu
        mean.withUnsafeBufferPointer { mb in
            invStd.withUnsafeBufferPointer { ib in
                nonisolated(unsafe) let mb = mb, ib = ib
                parallelFor(channels) { c in
                    let xc = xp + c * m, yc = yp + c * m, dyc = dyp + c * m, dxc = dxp + c * m
                    let mu = mb[c], inv = ib[c]
                    // sums of g and g*xhat, where g = dy masked by the fused ReLU
                    var sg = 0.0, sgx = 0.0
                    var i = 0
                    while i < m {
                        let end = min(m, i + 4096)
                        var a = Float(0), bsum = Float(0)
                        while i < end {
                            let gi = relu ? (yc[i] > 0 ? dyc[i] : 0) : dyc[i]
                            a += gi
                            bsum += gi * (xc[i] - mu)
                            i += 1
                        }
                        sg += Double(a); sgx += Double(bsum)
                    }
                    let dbeta = Float(sg), dgamma = Float(sgx) * inv
                    db[c] = dbeta; dg[c] = dgamma
                    // dx = gamma*inv/m * (m*g - dbeta - xhat*dgamma)
                    let k = g[c] * inv / Float(m)
                    let fm = Float(m)
                    let cx = dgamma * inv
                    for j in 0..<m {
                        let gj = relu ? (yc[j] > 0 ? dyc[j] : 0) : dyc[j]
                        dxc[j] = k * (fm * gj - dbeta - (xc[j] - mu) * cx)
                    }
                }
            }
        }
        return inputGrad
    }
}

/// y = x*scale + shift, optionally clamped at 0.
@inline(__always)
func affine(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
            _ scale: Float, _ shift: Float, _ relu: Bool) {
    if relu {
        for i in 0..<n { y[i] = max(0, x[i] * scale + shift) }
    } else {
        for i in 0..<n { y[i] = x[i] * scale + shift }
    }
}
