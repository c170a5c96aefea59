// 2-D convolution without bias, as a GEMM over the whole batch.
//
//   forward:  y[Cout, N*Ho*Wo] = W[Cout, Cin*k*k] . col(x)
//   backward: dW = dy . col(x)^T ;  dcol = W^T . dy ;  dx = col2im(dcol)
//
// col(x) is rebuilt in backward rather than kept: it is the largest tensor of the step,
// and rebuilding costs less than holding one per layer.

public final class Conv2d: Module, @unchecked Sendable {
    public let weight: Parameter
    public let cin: Int, cout: Int, k: Int, stride: Int, pad: Int
    let workspace: Workspace
    public let output = Tensor([0])
    public let inputGrad = Tensor([0])
    private var input: Tensor?

    public init(_ name: String, cin: Int, cout: Int, k: Int, stride: Int = 1, pad: Int = 0,
                workspace: Workspace) {
        self.cin = cin; self.cout = cout; self.k = k; self.stride = stride; self.pad = pad
        self.workspace = workspace
        weight = Parameter(name + ".weight", [cout, cin, k, k])
    }

    public var parameters: [Parameter] { [weight] }

    /// 1x1, stride 1, no padding: the input already is its own im2col matrix.
    private var isPointwise: Bool { k == 1 && stride == 1 && pad == 0 }

    private func geometry(_ x: Tensor) -> ConvGeometry {
        precondition(x.shape.count == 4 && x.shape[0] == cin, "Conv2d expects [\(cin), N, H, W], got \(x.shape)")
        return ConvGeometry(cin: cin, n: x.shape[1], h: x.shape[2], w: x.shape[3], k: k, stride: stride, pad: pad)
    }

    /// Builds (or borrows) the im2col matrix of x.
    private func columns(_ g: ConvGeometry, _ x: Tensor) -> UnsafeMutablePointer<Float> {
        if isPointwise { return x.data }
        let col = workspace.buffer(g.rows * g.cols)
        im2col(g, x.data, col)
        return col
    }

    @discardableResult
    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        let g = geometry(x)
        output.reshape([cout, g.n, g.ho, g.wo])
        let col = columns(g, x)
        BLAS.gemm(m: cout, n: g.cols, k: g.rows, a: weight.value.data, lda: g.rows,
                  b: col, ldb: g.cols, c: output.data, ldc: g.cols)
        input = mode == .train ? x : nil
        return output
    }

    /// Writes dW into weight.grad and returns dx (unless needInputGrad is false: the stem).
    @discardableResult
    public func backward(_ dy: Tensor, needInputGrad: Bool = true) -> Tensor {
        guard let x = input else { preconditionFailure("Conv2d.backward without a training forward") }
        let g = geometry(x)
        let col = columns(g, x)
        // dW[Cout, K] = dy[Cout, P] . col[K, P]^T
        BLAS.gemm(transB: true, m: cout, n: g.rows, k: g.cols, a: dy.data, lda: g.cols,
                  b: col, ldb: g.cols, c: weight.grad!.data, ldc: g.rows)
        guard needInputGrad else { return inputGrad }
        inputGrad.reshape(x.shape)
        if isPointwise {
            BLAS.gemm(transA: true, m: g.rows, n: g.cols, k: cout, a: weight.value.data, lda: g.rows,
                      b: dy.data, ldb: g.cols, c: inputGrad.data, ldc: g.cols)
        } else {
            // The workspace held col(x); it now receives dcol (col is no longer needed).
            let dcol = workspace.buffer(g.rows * g.cols)
            BLAS.gemm(transA: true, m: g.rows, n: g.cols, k: cout, a: weight.value.data, lda: g.rows,
                      b: dy.data, ldb: g.cols, c: dcol, ldc: g.cols)
            col2im(g, dcol, inputGrad.data)
        }
        return inputGrad
    }
}
