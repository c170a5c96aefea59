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
    /// The training forward's y = x*scale + shift per channel: with the fused ReLU the backward
    /// recomputes the mask (y > 0) from x instead of reading y, one stream fewer in both passes.
    private var scale: [Float], shift: [Float]

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
        scale = Array(repeating: 1, count: channels)
        shift = Array(repeating: 0, count: channels)
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
        Profiler.measure(mode == .train ? "bn.forward.train" : "bn.forward.eval") {
        if mode == .train {
            input = x
            let eps = self.eps, mom = self.momentum
            nonisolated(unsafe) let g = weight.value.data, b = bias.value.data
            nonisolated(unsafe) let rm = runningMean.value.data, rv = runningVar.value.data
            var meanOut = mean, invOut = invStd, scaleOut = scale, shiftOut = shift
            meanOut.withUnsafeMutableBufferPointer { mb in
              invOut.withUnsafeMutableBufferPointer { ib in
                scaleOut.withUnsafeMutableBufferPointer { sb in
                  shiftOut.withUnsafeMutableBufferPointer { hb in
                    nonisolated(unsafe) let mb = mb, ib = ib, sb = sb, hb = hb
                    // Channel c's statistics from its moments about xc[0] (no cancellation).
                    @inline(__always) func finish(_ c: Int, _ s1: Double, _ s2: Double) {
                        let xc = xp + c * m
                        let d = s1 / Double(m)
                        let ss = max(s2 - s1 * d, 0)
                        let mu = xc[0] + Float(d)
                        let varBiased = Float(ss / Double(m))
                        let varUnbiased = Float(ss / Double(max(m - 1, 1)))
                        let inv = 1 / (varBiased + eps).squareRoot()
                        mb[c] = mu; ib[c] = inv
                        rm[c] = (1 - mom) * rm[c] + mom * mu
                        rv[c] = (1 - mom) * rv[c] + mom * varUnbiased
                        let scale = g[c] * inv, shift = b[c] - mu * scale
                        sb[c] = scale; hb[c] = shift
                    }
                    if let blocks = ImageBlocks(x) {
                        // Moments per image block and channel, added in block order.
                        let part = UnsafeMutablePointer<Double>.allocate(capacity: 2 * blocks.count * channels)
                        defer { part.deallocate() }
                        nonisolated(unsafe) let pp = part
                        let channels = self.channels
                        blocks.forEach { k, lo, count in
                            for c in 0..<channels {
                                let xc = xp + c * m
                                let (s1, s2) = shiftedMoments(xc + lo, count, shift: xc[0])
                                pp[2 * (k * channels + c)] = s1; pp[2 * (k * channels + c) + 1] = s2
                            }
                        }
                        for c in 0..<channels {
                            let (s1, s2) = blocks.sum(part, channel: c, of: channels)
                            finish(c, s1, s2)
                        }
                        blocks.forEach { _, lo, count in
                            for c in 0..<channels { affine(xp + c * m + lo, yp + c * m + lo, count, sb[c], hb[c], relu) }
                        }
                    } else {
                        parallelFor(channels, work: 3 * x.count) { c in
                            let xc = xp + c * m
                            let (s1, s2) = shiftedMoments(xc, m, shift: xc[0])
                            finish(c, s1, s2)
                            affine(xc, yp + c * m, m, sb[c], hb[c], relu)
                        }
                    }
                  }
                }
              }
            }
            mean = meanOut; invStd = invOut; scale = scaleOut; shift = shiftOut
            runningMean.markModified(); runningVar.markModified()  // folded() caches on versions
            numBatchesTracked.value += 1
        } else {
            input = nil
            let eps = self.eps
            nonisolated(unsafe) let g = weight.value.data, b = bias.value.data
            nonisolated(unsafe) let rm = runningMean.value.data, rv = runningVar.value.data
            parallelFor(channels, work: 2 * x.count) { c in
                let scale = g[c] / (rv[c] + eps).squareRoot()
                affine(xp + c * m, yp + c * m, m, scale, rm[c] * -scale + b[c], relu)
            }
        }
        }
        return output
    }

    /// Evaluation-mode batch norm as y = x*scale + shift per channel (+ReLU), for folding
    /// into the preceding convolution.
    /// Cached until one of the four tensors' `version` moves (measured: recomputing it every
    /// pass, with Swift's exclusivity checks on each element read, took 5.5% of a width-16
    /// single-image pass on one thread, all of it serial on the calling thread with two).
    public func folded() -> ChannelAffine {
        let key = FoldKey(weight.version, bias.version, runningMean.version, runningVar.version)
        if let (k, a) = foldedCache, k == key, foldedEps == eps { return a }
        var a = ChannelAffine(scale: [Float](repeating: 0, count: channels), shift: [Float](repeating: 0, count: channels), relu: relu)
        for c in 0..<channels {
            let scale = weight.value[c] / (runningVar.value[c] + eps).squareRoot()
            a.scale[c] = scale
            a.shift[c] = runningMean.value[c] * -scale + bias.value[c]
        }
        foldedCache = (key, a)
        foldedEps = eps
        return a
    }

    private struct FoldKey: Equatable {
        let v: (Int, Int, Int, Int)
        init(_ a: Int, _ b: Int, _ c: Int, _ d: Int) { v = (a, b, c, d) }
        static func == (l: FoldKey, r: FoldKey) -> Bool { l.v == r.v }
    }
    private var foldedCache: (FoldKey, ChannelAffine)?
    private var foldedEps: Float = 0

    /// dy is the gradient of this layer's output (after the fused ReLU, when there is one).
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("BatchNorm2d.backward without a training forward") }
        inputGrad.reshape(x.shape)
        let m = x.count / channels
        nonisolated(unsafe) let xp = x.data, dyp = dy.data, dxp = inputGrad.data
        nonisolated(unsafe) let g = weight.value.data
        nonisolated(unsafe) let dg = weight.grad!.data, db = bias.grad!.data
        Profiler.measure("bn.backward") {
        let relu = self.relu
        mean.withUnsafeBufferPointer { mb in
          invStd.withUnsafeBufferPointer { ib in
            scale.withUnsafeBufferPointer { sb in
              shift.withUnsafeBufferPointer { hb in
                nonisolated(unsafe) let mb = mb, ib = ib, sb = sb, hb = hb
                if let blocks = ImageBlocks(x) {
                    // Sums per image block and channel, added in block order, then dx by blocks.
                    let channels = self.channels
                    let part = UnsafeMutablePointer<Double>.allocate(capacity: 2 * blocks.count * channels)
                    defer { part.deallocate() }
                    nonisolated(unsafe) let pp = part
                    blocks.forEach { k, lo, count in
                        for c in 0..<channels {
                            let (sg, sgx) = bnBackwardSums(xp + c * m + lo, dyp + c * m + lo, count, mean: mb[c],
                                                           relu: relu, rs: sb[c], rh: hb[c])
                            pp[2 * (k * channels + c)] = sg; pp[2 * (k * channels + c) + 1] = sgx
                        }
                    }
                    for c in 0..<channels {
                        let (sg, sgx) = blocks.sum(part, channel: c, of: channels)
                        db[c] = Float(sg); dg[c] = Float(sgx) * ib[c]
                    }
                    blocks.forEach { _, lo, count in
                        for c in 0..<channels {
                            let inv = ib[c], dbeta = db[c], dgamma = dg[c]
                            bnBackwardInput(xp + c * m + lo, dyp + c * m + lo, dxp + c * m + lo, count, mean: mb[c],
                                            scale: g[c] * inv / Float(m), a: Float(m), b: -dbeta, cx: dgamma * inv,
                                            relu: relu, rs: sb[c], rh: hb[c])
                        }
                    }
                    return
                }
                parallelFor(channels, work: 2 * x.count) { c in
                    let xc = xp + c * m, dyc = dyp + c * m, dxc = dxp + c * m
                    let mu = mb[c], inv = ib[c]
                    let (rs, rh) = (sb[c], hb[c])
                    let (sg, sgx) = bnBackwardSums(xc, dyc, m, mean: mu, relu: relu, rs: rs, rh: rh)
                    let dbeta = Float(sg), dgamma = Float(sgx) * inv
                    db[c] = dbeta; dg[c] = dgamma
                    // dx = gamma*inv/m * (m*g - dbeta - xhat*dgamma), with xhat = (x - mu)*inv
                    bnBackwardInput(xc, dyc, dxc, m, mean: mu, scale: g[c] * inv / Float(m),
                                    a: Float(m), b: -dbeta, cx: dgamma * inv, relu: relu, rs: rs, rh: rh)
                }
              }
            }
          }
        }
        }
        return inputGrad
    }
}

/// A training batch's images in fixed blocks, for batch norm's passes split by images instead
/// of channels: each pool thread then reads the images its own convolution slices wrote
/// (SliceClaims.affinity), where a split by channels reads half of every channel from the other
/// worker, which on this VM sometimes sits across a slow link (bench/vcpu_pingpong.c). The
/// block count does not depend on the workers, and the per-block sums are added in block
/// order, so the bits do not depend on them either.
/// Off by default (ROBUST_BN_IMAGE_BLOCKS=1 turns it on): `bench --ab bn-image-blocks`,
/// width-16 training steps, 40 runs alternating with the round-trip probe: median 0.961
/// [0.950-0.998] in the 12 slow-phase runs (about 147 -> 141 ms), but 1.029 [0.987-1.044] in
/// the 27 fast-phase ones (117 -> 121 ms): by channels, a channel's second pass finds much of
/// it still in cache from the first; by blocks, the whole block (all channels) comes between.
/// Later the same day the slow-phase gain did not come back (1.018 in 6 slow-phase runs,
/// 1.031 in 24 fast ones), and choosing the split per step by a probe of the round trip
/// measured 1.000 in both phases (bench/results/perf/ab-bn-split-2026-12-05.txt), so nothing
/// uses this by default; it stays as a measured alternative for `bench --ab`.
struct ImageBlocks {
    nonisolated(unsafe) static var enabled: Bool = getenvString("ROBUST_BN_IMAGE_BLOCKS") == "1"
    static let most = 8
    let count: Int, images: Int, plane: Int

    /// nil when the passes go by channels: turned off, or a single image.
    init?(_ x: Tensor) {
        guard ImageBlocks.enabled, x.shape.count == 4, x.shape[1] > 1 else { return nil }
        images = x.shape[1]
        plane = x.shape[2] * x.shape[3]
        count = min(images, ImageBlocks.most)
    }

    /// Channel c's pair of sums over the blocks, in block order, from per-block pairs laid out
    /// [block][channel][2].
    func sum(_ part: UnsafePointer<Double>, channel c: Int, of channels: Int) -> (Double, Double) {
        var a = 0.0, b = 0.0
        for k in 0..<count { a += part[2 * (k * channels + c)]; b += part[2 * (k * channels + c) + 1] }
        return (a, b)
    }

    /// body(block, first value, values) within each channel, for every block, on the workers;
    /// each pool thread starts on its own blocks.
    func forEach(_ body: (Int, Int, Int) -> Void) {
        let workers = min(Threads.count, count)
        let (images, count, plane) = (self.images, self.count, self.plane)
        SliceClaims.with(count: count, workers: workers) { claims in
            parallelFor(workers, work: workers > 1 ? Int.max : 0) { t in
                claims.forEach(worker: t) { k in
                    let n0 = images * k / count, n1 = images * (k + 1) / count
                    body(k, n0 * plane, (n1 - n0) * plane)
                }
            }
        }
    }
}

/// y = x*scale + shift + r, optionally clamped at 0 (after the add).
@inline(__always)
func affineAdd(_ y: UnsafeMutablePointer<Float>, _ r: UnsafePointer<Float>, _ n: Int,
               _ scale: Float, _ shift: Float, _ relu: Bool) {
    if relu {
        for i in 0..<n { y[i] = max(0, y[i] * scale + shift + r[i]) }
    } else {
        for i in 0..<n { y[i] = y[i] * scale + shift + r[i] }
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

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}
@inline(__always) func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// sum(g) and sum(g * (x - mean)) where g = dy, masked where the fused ReLU's output is 0.
/// The mask is recomputed from the batch norm's input: y = max(0, x*rs + rh) is 0 exactly where
/// x*rs + rh <= 0, with the same float operations as the forward's `affine` (rs, rh: that
/// channel's scale and shift).
/// Branch-free (load, then select) so the loop vectorizes.
@inline(__always)
func bnBackwardSums(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ n: Int,
                    mean: Float, relu: Bool, rs: Float, rh: Float) -> (Double, Double) {
    var sg = 0.0, sgx = 0.0
    let mu = SIMD16<Float>(repeating: mean)
    let rsv = SIMD16<Float>(repeating: rs), rhv = SIMD16<Float>(repeating: rh)
    var i = 0
    while i < n {
        let end = min(n, i + 4096)
        var a = SIMD16<Float>.zero, b = SIMD16<Float>.zero
        while i + 16 <= end {
            var gv = load16(dy + i)
            let xv = load16(x + i)
            if relu { gv.replace(with: 0, where: xv * rsv + rhv .<= 0) }
            a += gv
            b += gv * (xv - mu)
            i += 16
        }
        var ts = Double(a.sum()), tx = Double(b.sum())
        while i < end {
            let gi = relu && x[i] * rs + rh <= 0 ? 0 : dy[i]
            ts += Double(gi); tx += Double(gi * (x[i] - mean))
            i += 1
        }
        sg += ts; sgx += tx
    }
    return (sg, sgx)
}

/// dx = scale * (a*g + b - (x - mean)*cx), g masked as in bnBackwardSums.
@inline(__always)
func bnBackwardInput(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                     _ dx: UnsafeMutablePointer<Float>, _ n: Int, mean: Float, scale: Float, a: Float, b: Float,
                     cx: Float, relu: Bool, rs: Float, rh: Float) {
    let mu = SIMD16<Float>(repeating: mean), sv = SIMD16<Float>(repeating: scale)
    let av = SIMD16<Float>(repeating: a), bv = SIMD16<Float>(repeating: b), cv = SIMD16<Float>(repeating: cx)
    let rsv = SIMD16<Float>(repeating: rs), rhv = SIMD16<Float>(repeating: rh)
    var i = 0
    while i + 16 <= n {
        var gv = load16(dy + i)
        let xv = load16(x + i)
        if relu { gv.replace(with: 0, where: xv * rsv + rhv .<= 0) }
        store16(sv * (av * gv + bv - (xv - mu) * cv), dx + i)
        i += 16
    }
    while i < n {
        let gi = relu && x[i] * rs + rh <= 0 ? 0 : dy[i]
        dx[i] = scale * (a * gi + b - (x[i] - mean) * cx)
        i += 1
    }
}

/// y = x*scale[c] + shift[c] on each channel row (+ReLU): evaluation-mode batch norm.
public struct ChannelAffine: Sendable, Equatable {
    public var scale: [Float], shift: [Float]
    public var relu: Bool

    /// In place on a block of `rows` channel rows of `columns` values, rows `ld` apart; the
    /// block's first row is channel `firstRow`.
    /// With `residual` (its rows `residualLd` apart, by default as p's), y = relu?(x*scale +
    /// shift + residual): the end of a residual block, fused.
    @inline(__always)
    func apply(_ p: UnsafeMutablePointer<Float>, rows: Int, firstRow: Int = 0, columns: Int, ld: Int,
               residual: UnsafePointer<Float>? = nil, residualLd: Int? = nil) {
        if let r = residual {
            let rld = residualLd ?? ld
            for c in 0..<rows { affineAdd(p + c * ld, r + c * rld, columns, scale[firstRow + c], shift[firstRow + c], relu) }
        } else {
            for c in 0..<rows { affine(p + c * ld, p + c * ld, columns, scale[firstRow + c], shift[firstRow + c], relu) }
        }
    }
}

extension Conv2d {
    /// conv then batch norm: separate in training (BN needs the whole batch's statistics),
    /// one fused pass in evaluation.
    @discardableResult
    public func forward(_ x: Tensor, mode: Mode, then bn: BatchNorm2d) -> Tensor {
        if mode == .eval { return forward(x, mode: .eval, epilogue: bn.folded()) }
        return bn.forward(forward(x, mode: mode), mode: mode)
    }
}
