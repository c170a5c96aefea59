// The small layers: residual add + ReLU, global average pooling, linear.

/// y = max(0, a + b): the end of a residual block.
public final class AddReLU: @unchecked Sendable {
    public let output = Tensor([0])
    public let inputGrad = Tensor([0])

    public init() {}

    @discardableResult
    public func forward(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "AddReLU: \(a.shape) vs \(b.shape)")
        output.reshape(a.shape)
        nonisolated(unsafe) let ap = a.data, bp = b.data, yp = output.data
        Profiler.measure("add_relu.forward") {
            parallelChunks(a.count, minChunk: 16384) { r in
                for i in r { yp[i] = max(0, ap[i] + bp[i]) }
            }
        }
        return output
    }

    /// The gradient reaching both summands: dy where the output was positive.
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        inputGrad.reshape(dy.shape)
        nonisolated(unsafe) let yp = output.data, dyp = dy.data, dxp = inputGrad.data
        Profiler.measure("add_relu.backward") {
            parallelChunks(dy.count, minChunk: 16384) { r in
                for i in r {
                    let d = dyp[i]
                    dxp[i] = yp[i] > 0 ? d : 0
                }
            }
        }
        return inputGrad
    }
}

/// [C, N, H, W] -> [N, C]: the mean of each channel's plane.
public final class GlobalAvgPool: @unchecked Sendable {
    public let output = Tensor([0])
    public let inputGrad = Tensor([0])
    private var inputShape: [Int] = []

    public init() {}

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        let c = x.shape[0], n = x.shape[1], hw = x.shape[2] * x.shape[3]
        inputShape = x.shape
        output.reshape([n, c])
        nonisolated(unsafe) let xp = x.data, yp = output.data
        let inv = 1 / Float(hw)
        parallelFor(c, work: x.count) { ci in
            for ni in 0..<n {
                yp[ni * c + ci] = Float(sum(xp + (ci * n + ni) * hw, hw)) * inv
            }
        }
        return output
    }

    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        let c = inputShape[0], n = inputShape[1], hw = inputShape[2] * inputShape[3]
        inputGrad.reshape(inputShape)
        nonisolated(unsafe) let dyp = dy.data, dxp = inputGrad.data
        let inv = 1 / Float(hw)
        parallelFor(c, work: inputGrad.count) { ci in
            for ni in 0..<n {
                (dxp + (ci * n + ni) * hw).update(repeating: dyp[ni * c + ci] * inv, count: hw)
            }
        }
        return inputGrad
    }
}

/// y[N, out] = x[N, in] . W^T + b
public final class Linear: Module, @unchecked Sendable {
    public let weight: Parameter, bias: Parameter
    public let inFeatures: Int, outFeatures: Int
    public let output = Tensor([0])
    public let inputGrad = Tensor([0])
    private var input: Tensor?

    public init(_ name: String, inFeatures: Int, outFeatures: Int) {
        self.inFeatures = inFeatures; self.outFeatures = outFeatures
        weight = Parameter(name + ".weight", [outFeatures, inFeatures])
        bias = Parameter(name + ".bias", [outFeatures])
    }

    public var parameters: [Parameter] { [weight, bias] }

    @discardableResult
    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        precondition(x.shape.count == 2 && x.shape[1] == inFeatures, "Linear expects [N, \(inFeatures)], got \(x.shape)")
        let n = x.shape[0]
        output.reshape([n, outFeatures])
        for i in 0..<n { (output.data + i * outFeatures).update(from: bias.value.data, count: outFeatures) }
        BLAS.gemm(transB: true, m: n, n: outFeatures, k: inFeatures, a: x.data, lda: inFeatures,
                  b: weight.value.data, ldb: inFeatures, beta: 1, c: output.data, ldc: outFeatures)
        input = mode == .train ? x : nil
        return output
    }

    @discardableResult
    public func backward(_ dy: Tensor, needInputGrad: Bool = true) -> Tensor {
        guard let x = input else { preconditionFailure("Linear.backward without a training forward") }
        let n = x.shape[0]
        // dW[out, in] = dy^T . x ; db = column sums of dy ; dx = dy . W
        BLAS.gemm(transA: true, m: outFeatures, n: inFeatures, k: n, a: dy.data, lda: outFeatures,
                  b: x.data, ldb: inFeatures, c: weight.grad!.data, ldc: inFeatures)
        let db = bias.grad!.data
        for j in 0..<outFeatures {
            var s: Float = 0
            for i in 0..<n { s += dy.data[i * outFeatures + j] }
            db[j] = s
        }
        guard needInputGrad else { return inputGrad }
        inputGrad.reshape([n, inFeatures])
        BLAS.gemm(m: n, n: inFeatures, k: outFeatures, a: dy.data, lda: outFeatures,
                  b: weight.value.data, ldb: inFeatures, c: inputGrad.data, ldc: inFeatures)
        return inputGrad
    }
}
