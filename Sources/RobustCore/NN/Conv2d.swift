// 2-D convolution without bias, as GEMMs over slices of the batch.
//
//   forward:  y[Cout, P] = W[Cout, Cin*k*k] . col(x)          (P = output positions)
//   backward: dW = dy . col(x)^T ;  dcol = W^T . dy ;  dx = col2im(dcol)
//
// The batch is cut into slices of a few images so that a slice's im2col matrix stays in
// cache instead of streaming hundreds of megabytes through memory; col is rebuilt in
// backward rather than kept, so peak memory is the activations alone. Workers take whole
// slices (their own im2col buffer, their own dW partial sum, disjoint output columns) and
// call a single-threaded GEMM. With fewer slices than workers (one image), each GEMM is
// split by columns instead.

public final class Conv2d: Module, @unchecked Sendable {
    public let weight: Parameter
    public let cin: Int, cout: Int, k: Int, stride: Int, pad: Int
    let workspace: Workspace
    public let output = Tensor([0])
    public let inputGrad = Tensor([0])
    private var input: Tensor?
    /// Winograd-transformed filters for inference, and the weight version they were made from.
    let winogradU = Tensor([0])
    var winogradVersion = -1
    /// The same for the flipped filters that give the input gradient (rebuilt every backward).
    let winogradFlipped = Tensor([0])
    /// The direct kernel's filters in blocks of 16 output channels, and their weight version.
    let directW = Tensor([0])
    var directVersion = -1
    /// WinogradSingle's filters (UB[e][co / 16][ci][co % 16]), and their weight version.
    let winogradSingleU = Tensor([0])
    var winogradSingleVersion = -1
    /// Whether a single image's output may be stored by bands (RowBands), set by the network:
    /// when the next layer splits by the same bands (its consumers, the next convolution and a
    /// residual, are stride-1 3x3 layers of the same size), or whatever the split (its consumers
    /// are the direct kernel and a fused shortcut, which read any bands).
    var bandedOutput = BandedOutput.never
    enum BandedOutput { case never, sameSplit, anySplit }
    /// Planar copies of inputs or residuals stored by bands, for paths that read [C, N, H, W].
    let planarInput = Tensor([0]), planarResidual = Tensor([0])

    /// Target size of one slice's im2col matrix: a few MiB keeps it in cache.
    nonisolated(unsafe) public static var sliceBytes: Int = {
        if let s = getenvString("ROBUST_CONV_SLICE_KB"), let v = Int(s), v > 0 { return v * 1024 }
        return 2 << 20
    }()

    public init(_ name: String, cin: Int, cout: Int, k: Int, stride: Int = 1, pad: Int = 0,
                workspace: Workspace) {
        precondition(cin > 0 && cout > 0 && k > 0 && stride > 0 && pad >= 0,
                     "Conv2d \(name): cin \(cin), cout \(cout), k \(k), stride \(stride), pad \(pad)")
        self.cin = cin; self.cout = cout; self.k = k; self.stride = stride; self.pad = pad
        self.workspace = workspace
        weight = Parameter(name + ".weight", [cout, cin, k, k])
    }

    public var parameters: [Parameter] { [weight] }

    /// 1x1, stride 1, no padding: the input already is its own im2col matrix.
    private var isPointwise: Bool { k == 1 && stride == 1 && pad == 0 }

    private func geometry(_ x: Tensor) -> ConvGeometry {
        precondition(x.shape.count == 4 && x.shape[0] == cin, "Conv2d expects [\(cin), N, H, W], got \(x.shape)")
        // The output size rounds towards zero, so a kernel larger than the padded input would
        // still give one row at stride > 1: reject it, as PyTorch does.
        precondition(x.shape[2] + 2 * pad >= k && x.shape[3] + 2 * pad >= k,
                     "Conv2d: a \(k)x\(k) kernel is larger than the padded \(x.shape[2])x\(x.shape[3]) input")
        return ConvGeometry(cin: cin, n: x.shape[1], h: x.shape[2], w: x.shape[3], k: k, stride: stride, pad: pad)
    }

    /// Images per slice: near the cache target, and at least one slice per worker.
    private func sliceImages(_ g: ConvGeometry, workers: Int) -> Int {
        let byCache = Conv2d.sliceBytes / max(1, g.rows * g.ho * g.wo * 4)
        let byWorkers = (g.n + workers - 1) / workers
        return max(1, min(byCache, byWorkers))
    }

    func flops(_ g: ConvGeometry) -> Double { 2.0 * Double(cout * g.rows) * Double(g.cols) }

    /// `epilogue` (evaluation only): a per-channel affine (+ReLU) applied to each slice right
    /// after its GEMM, while the slice is still in cache: batch norm folded into the conv.
    /// `shortcut` (evaluation): a 1x1 convolution of the same input and stride (a residual
    /// block's projection) with its epilogue, written to its own output: inside this layer's
    /// parallel job where the direct kernel takes a single image, else on its own.
    @discardableResult
    public func forward(_ x: Tensor, mode: Mode, epilogue: ChannelAffine? = nil, residual: Tensor? = nil,
                        shortcut: (Conv2d, ChannelAffine)? = nil) -> Tensor {
        precondition(shortcut == nil || mode == .eval, "a fused shortcut is for evaluation only")
        precondition(epilogue == nil || mode == .eval, "a fused epilogue is for evaluation only")
        precondition(residual == nil || epilogue != nil, "a residual is added in the epilogue")
        let g = geometry(x)
        if let r = residual { precondition(r.shape == [cout, g.n, g.ho, g.wo], "residual \(r.shape)") }
        let winograd = (mode == .eval || Winograd.inTraining)
            && Winograd.applies(k: k, stride: stride, pad: pad, n: g.n, h: g.h, w: g.w, cin: cin)
        // A single image's band layers pass activations stored by bands (RowBands); every
        // other path, or a different split, reads them planar.
        let split = mode == .eval && winograd ? Winograd.bandSplit(n: g.n, h: g.h, w: g.w, cin: cin, cout: self.cout) : nil
        // The direct kernel packs a single image from its bands, whatever the split.
        let direct = mode == .eval && !winograd && DirectConv.applies(k: k, stride: stride, pad: pad, n: g.n)
        let x = direct && g.n == 1 ? x : Conv2d.planar(x, unless: split, into: planarInput)
        let residual = residual.map { Conv2d.planar($0, unless: split?.with(channels: self.cout), into: planarResidual) }
        nonisolated(unsafe) let rp: UnsafeMutablePointer<Float>? = residual?.data
        output.reshape([self.cout, g.n, g.ho, g.wo])
        input = mode == .train ? x : nil
        if mode == .eval && shortcut == nil
            && WinogradSingle.applies(k: k, stride: stride, pad: pad, n: g.n, h: g.h, w: g.w, cin: cin, cout: self.cout) {
            return forwardSingle(x, g, epilogue: epilogue, residual: residual)
        }
        if winograd {
            // The next layer reads bands only if it splits the same way: same size and channels.
            let bandOut = RowBands.enabled && split != nil
                && (bandedOutput == .anySplit || (bandedOutput == .sameSplit
                    && Winograd.bandSplit(n: g.n, h: g.h, w: g.w, cin: self.cout, cout: self.cout) == split?.with(channels: self.cout)))
            if let (sc, ep) = shortcut { sc.forward(x, mode: .eval, epilogue: ep) }
            return forwardWinograd(x, g, mode: mode, epilogue: epilogue, residual: residual, bandOutput: bandOut)
        }
        if mode == .eval && DirectConv.applies(k: k, stride: stride, pad: pad, n: g.n) {
            return forwardDirect(x, g, epilogue: epilogue, residual: residual, shortcut: shortcut)
        }
        if let (sc, ep) = shortcut { sc.forward(x, mode: .eval, epilogue: ep) }
        let T = Threads.count
        let planeIn = g.h * g.w, planeOut = g.ho * g.wo
        nonisolated(unsafe) let w = weight.value.data, xp = x.data, yp = output.data
        let (cout, rows) = (self.cout, g.rows)
        if isPointwise {
            Profiler.measure("conv.gemm.forward", flops: flops(g)) {
                splitGemm(m: cout, n: g.cols, k: rows, T) { r0, nr, c0, nc in
                    let at = r0 * g.cols + c0
                    BLAS.gemm(m: nr, n: nc, k: rows, a: w + r0 * rows, lda: rows, b: xp + c0, ldb: g.cols, c: yp + at, ldc: g.cols)
                    epilogue?.apply(yp + at, rows: nr, firstRow: r0, columns: nc, ld: g.cols, residual: rp.map { $0 + at })
                }
            }
            return output
        }
        let step = sliceImages(g, workers: T)
        let slices = Swift.stride(from: 0, to: g.n, by: step).map { ($0, min(step, g.n - $0)) }
        let cols = workspace.buffers(rows * step * planeOut, slots: T)
        if slices.count >= T {
            // The profile shows the workers' mean time in im2col and in GEMM.
            let total = SliceClaims.with(count: slices.count, workers: T) { claims in
                parallelTimed(T) { t, timer in
                    claims.forEach(worker: t) { i in
                        let (n0, cnt) = slices[i]
                        let gs = g.with(n: cnt)
                        im2col(gs, xp + n0 * planeIn, channelStride: g.n * planeIn, cols[t], parallel: false)
                        timer.lap(0)
                        BLAS.gemm(m: cout, n: gs.cols, k: rows, a: w, lda: rows,
                                  b: cols[t], ldb: gs.cols, c: yp + n0 * planeOut, ldc: g.cols)
                        epilogue?.apply(yp + n0 * planeOut, rows: cout, columns: gs.cols, ld: g.cols, residual: rp.map { $0 + n0 * planeOut })
                        timer.lap(1)
                    }
                }
            }
            Profiler.add("conv.im2col", seconds: total[0])
            Profiler.add(epilogue == nil ? "conv.gemm.forward" : "conv.gemm.forward+bn", seconds: total[1], flops: flops(g))
        } else {
            for (n0, cnt) in slices {
                let gs = g.with(n: cnt)
                nonisolated(unsafe) let col = cols[0]
                Profiler.measure("conv.im2col") { im2col(gs, xp + n0 * planeIn, channelStride: g.n * planeIn, col) }
                Profiler.measure("conv.gemm.forward", flops: flops(gs)) {
                    splitGemm(m: cout, n: gs.cols, k: rows, T) { r0, nr, c0, nc in
                        let at = r0 * g.cols + n0 * planeOut + c0
                        BLAS.gemm(m: nr, n: nc, k: rows, a: w + r0 * rows, lda: rows, b: col + c0, ldb: gs.cols,
                                  c: yp + at, ldc: g.cols)
                        epilogue?.apply(yp + at, rows: nr, firstRow: r0, columns: nc, ld: g.cols, residual: rp.map { $0 + at })
                    }
                }
            }
        }
        return output
    }

    /// Use the im2col(dy) backward for stride-1 "same" convolutions (ROBUST_CONV_BACKWARD=col2im
    /// selects the classic im2col(x) + col2im path, for comparison).
    nonisolated(unsafe) public static var backwardThroughOutputColumns: Bool = getenvString("ROBUST_CONV_BACKWARD") != "col2im"
    let flipped = Tensor([0])

    /// Writes dW into weight.grad and returns dx (unless needInputGrad is false: the stem).
    @discardableResult
    public func backward(_ dy: Tensor, needInputGrad: Bool = true) -> Tensor {
        guard let x = input else { preconditionFailure("Conv2d.backward without a training forward") }
        let g = geometry(x)
        if g.isSameStride1 && k > 1 && Conv2d.backwardThroughOutputColumns {
            return backwardSame(dy, x, g, needInputGrad: needInputGrad)
        }
        let T = Threads.count
        if needInputGrad { inputGrad.reshape(x.shape) }
        let planeIn = g.h * g.w, planeOut = g.ho * g.wo
        let (cout, rows) = (self.cout, g.rows)
        nonisolated(unsafe) let w = weight.value.data, xp = x.data, dyp = dy.data, dxp = inputGrad.data
        // Slices by the cache target (pointwise layers too: their slices of x are as large as
        // the im2col matrix would be), so that the slices, and with them the sums, do not depend
        // on the worker count when a worker's share of the batch is larger.
        let step = sliceImages(g, workers: T)
        let slices = Swift.stride(from: 0, to: g.n, by: step).map { ($0, min(step, g.n - $0)) }
        let count = weight.value.count
        let groups = SliceGroups(slices: slices.count, workers: T, partialCount: count)
        let cols = isPointwise ? [] : workspace.buffers(rows * step * planeOut, slots: min(T, groups.groups))
        let dWs = workspace.gradPartials(count, groups: groups.groups)
        let pointwise = isPointwise
        // Phases timed per worker: im2col, weight-gradient GEMM, input-gradient GEMM, col2im.
        let total = groups.run(workers: T) { t, group, timer in
            for (i, slice) in groups.slices(of: group).enumerated() {
                let (n0, cnt) = slices[slice]
                let gs = g.with(n: cnt)
                let dys = dyp + n0 * planeOut
                let col: UnsafeMutablePointer<Float>
                if pointwise {
                    col = xp + n0 * planeIn  // only read: pointwise x is its own col, row stride g.cols
                } else {
                    col = cols[t]
                    im2col(gs, xp + n0 * planeIn, channelStride: g.n * planeIn, col, parallel: false)
                }
                let ldcol = pointwise ? g.cols : gs.cols
                timer.lap(0)
                // dW_group (+)= dy_slice[Cout, P] . col[K, P]^T
                BLAS.gemm(transB: true, m: cout, n: rows, k: gs.cols, a: dys, lda: g.cols,
                          b: col, ldb: ldcol, beta: i == 0 ? 0 : 1, c: dWs[group], ldc: rows)
                timer.lap(1)
                guard needInputGrad else { continue }
                if pointwise {
                    BLAS.gemm(transA: true, m: rows, n: gs.cols, k: cout, a: w, lda: rows,
                              b: dys, ldb: g.cols, c: dxp + n0 * planeIn, ldc: g.cols)
                    timer.lap(2)
                } else {
                    // col is no longer needed: it receives dcol = W^T . dy_slice
                    BLAS.gemm(transA: true, m: rows, n: gs.cols, k: cout, a: w, lda: rows,
                              b: dys, ldb: g.cols, c: col, ldc: gs.cols)
                    timer.lap(2)
                    col2im(gs, col, dxp + n0 * planeIn, channelStride: g.n * planeIn, parallel: false)
                    timer.lap(3)
                }
            }
        }
        Profiler.add("conv.im2col", seconds: total[0])
        Profiler.add("conv.gemm.weight_grad", seconds: total[1], flops: flops(g))
        if needInputGrad {
            Profiler.add("conv.gemm.input_grad", seconds: total[2], flops: flops(g))
            if !pointwise { Profiler.add("conv.col2im", seconds: total[3]) }
        }
        // dW = the groups' partial sums, in group order
        SliceGroups.reduce(dWs, count: count, into: weight.grad!.data)
        return inputGrad
    }
}

extension Conv2d {
    /// W~[ci][co][a][b] = W[co][ci][k-1-a][k-1-b]: the filters of the transposed convolution
    /// (dx = W~ * dy for stride-1 "same" convolutions), laid out as [Cin, Cout*k*k]. Rebuilt
    /// each step: the weights change every step, and it is small.
    func flippedFilters() -> UnsafeMutablePointer<Float> {
        flipped.reshape([cin, cout, k, k])
        let w = weight.value.data, wf = flipped.data
        for co in 0..<cout { for ci in 0..<cin { for a in 0..<k { for b in 0..<k {
            wf[((ci * cout + co) * k + a) * k + b] = w[((co * cin + ci) * k + (k - 1 - a)) * k + (k - 1 - b)]
        } } } }
        return wf
    }

    /// Backward of a stride-1 "same" convolution from one im2col, that of dy:
    ///
    ///   E = im2col(dy)                         [Cout*k*k, P]   (taps of dy around each input pixel)
    ///   dx = W~ . E,  W~[ci,(co,a,b)] = W[co,ci,k-1-a,k-1-b]    (the transposed convolution)
    ///   D = E . x^T,  dW[co,ci,ky,kx] = D[(co,k-1-ky,k-1-kx), ci]
    ///
    /// Compared with im2col(x) + col2im this builds one column matrix instead of building one
    /// and scattering another back, and dx is written by the GEMM directly.
    func backwardSame(_ dy: Tensor, _ x: Tensor, _ g: ConvGeometry, needInputGrad: Bool) -> Tensor {
        let T = Threads.count
        let plane = g.h * g.w
        let kk = k * k, rowsE = cout * kk
        let (cout, cin, k) = (self.cout, self.cin, self.k)
        if needInputGrad { inputGrad.reshape(x.shape) }
        // The small-GEMM threshold (minTilesSmallGemm) was measured on inference: the backward
        // pass keeps minTiles (its input-gradient GEMMs have K = cout, its weight gradient has
        // GEMMs of its own shape), which leaves training batches unaffected either way.
        if Winograd.inTraining && Winograd.applies(k: k, stride: 1, pad: pad, n: g.n, h: g.h, w: g.w) {
            return backwardWinograd(dy, x, g, needInputGrad: needInputGrad)
        }
        let wf = flippedFilters()
        let gE = ConvGeometry(cin: cout, n: g.n, h: g.h, w: g.w, k: k, stride: 1, pad: pad)
        let byCache = Conv2d.sliceBytes / max(1, rowsE * plane * 4)
        let step = max(1, min(byCache, (g.n + T - 1) / T))
        let slices = Swift.stride(from: 0, to: g.n, by: step).map { ($0, min(step, g.n - $0)) }
        let groups = SliceGroups(slices: slices.count, workers: T, partialCount: rowsE * cin)
        let cols = workspace.buffers(rowsE * step * plane, slots: min(T, groups.groups))
        let ds = workspace.gradPartials(rowsE * cin, groups: groups.groups)
        nonisolated(unsafe) let xp = x.data, dyp = dy.data, dxp = inputGrad.data, wfp = UnsafePointer(wf)
        let total = groups.run(workers: T) { t, group, timer in
            for (i, slice) in groups.slices(of: group).enumerated() {
                let (n0, cnt) = slices[slice]
                let gs = gE.with(n: cnt)
                let e = cols[t]
                im2col(gs, dyp + n0 * plane, channelStride: g.n * plane, e, parallel: false)
                timer.lap(0)
                // D_group (+)= E[Cout*k*k, P_slice] . x_slice[Cin, P_slice]^T
                BLAS.gemm(transB: true, m: rowsE, n: cin, k: gs.cols, a: e, lda: gs.cols,
                          b: xp + n0 * plane, ldb: g.cols, beta: i == 0 ? 0 : 1, c: ds[group], ldc: cin)
                timer.lap(1)
                if needInputGrad {
                    BLAS.gemm(m: cin, n: gs.cols, k: rowsE, a: wfp, lda: rowsE, b: e, ldb: gs.cols,
                              c: dxp + n0 * plane, ldc: g.cols)
                    timer.lap(2)
                }
            }
        }
        let f = 2.0 * Double(cout * g.rows) * Double(g.cols)
        Profiler.add("conv.im2col(dy)", seconds: total[0])
        Profiler.add("conv.gemm.weight_grad", seconds: total[1], flops: f)
        if needInputGrad { Profiler.add("conv.gemm.input_grad", seconds: total[2], flops: f) }
        // dW = the groups' D summed in group order, taps flipped back.
        SliceGroups.reduce(ds, count: rowsE * cin)
        let d = ds[0], dW = weight.grad!.data
        for co in 0..<cout { for ci in 0..<cin { for ky in 0..<k { for kx in 0..<k {
            let src = ((co * k + (k - 1 - ky)) * k + (k - 1 - kx)) * cin + ci
            dW[((co * cin + ci) * k + ky) * k + kx] = d[src]
        } } } }
        return inputGrad
    }
}

/// Splits the GEMM C[m, n] = A[m, k] B[k, n] into one block per worker:
/// body(firstRow, rows, firstColumn, columns). Wide GEMMs split by columns; narrow ones (a
/// single image's deep layers: 16-64 columns against 128-256 rows of weights) by rows, so
/// each worker packs only its own rows of A, the weights, instead of all of them.
@inline(__always)
func splitGemm(m: Int, n: Int, k: Int, _ workers: Int, _ body: (Int, Int, Int, Int) -> Void) {
    // A small GEMM is not worth a hand-off (m n k multiply-adds: 2 flops each).
    if workers <= 1 || 2 * m * n * k < minParallelFlops {
        body(0, m, 0, n)
        return
    }
    // By columns when they are many, or when the rows are too few to give every worker a
    // block of 16 (the row split would leave workers idle).
    if n >= 64 * workers || (m < 16 * workers && n >= 128) {
        parallelFor(workers) { t in
            let c0 = n * t / workers, c1 = n * (t + 1) / workers
            if c1 > c0 { body(0, m, c0, c1 - c0) }
        }
    } else {
        // Row blocks in multiples of 16 (the GEMM kernels' register blocks).
        let parts = min(workers, max(1, m / 16))
        parallelFor(parts) { t in
            let r = blockRange(t, of: parts, count: m, block: 16)
            if !r.isEmpty { body(r.lowerBound, r.count, 0, n) }
        }
    }
}

extension Conv2d {
    /// t itself when it is planar or stored by exactly the bands `split` (the band layer reads
    /// those), else a planar copy of it in `scratch`.
    static func planar(_ t: Tensor, unless split: RowBands?, into scratch: Tensor) -> Tensor {
        guard let b = t.bands, b != split else { return t }
        scratch.reshape(t.shape)
        b.toPlanar(t.data, scratch.data)
        return scratch
    }
}
