// im2col / col2im for channel-major activations [C, N, H, W].
//
// col has one row per (ci, ky, kx) and one column per output position (n, oy, ox), so a
// convolution is W[Cout, Cin*k*k] x col[Cin*k*k, n*Ho*Wo] and its output is again
// channel-major. The functions work on a slice of images (a chunk of the batch): input
// channel ci of chunk image n starts at x + ci*channelStride + n*H*W.

import CKernels

struct ConvGeometry: Sendable {
    /// n is the number of images in the slice being processed.
    let cin: Int, n: Int, h: Int, w: Int
    let k: Int, stride: Int, pad: Int
    var ho: Int { (h + 2 * pad - k) / stride + 1 }
    var wo: Int { (w + 2 * pad - k) / stride + 1 }
    var rows: Int { cin * k * k }
    var cols: Int { n * ho * wo }
    /// Stride-1 "same" convolution: output plane = input plane, so a kernel tap is a flat shift.
    var isSameStride1: Bool { stride == 1 && ho == h && wo == w }

    func with(n: Int) -> ConvGeometry { ConvGeometry(cin: cin, n: n, h: h, w: w, k: k, stride: stride, pad: pad) }

    /// Outputs o whose input coordinate o*stride + kOff - pad lies in [0, size).
    @inline(__always)
    func validRange(_ kOff: Int, size: Int, outSize: Int) -> Range<Int> {
        let shift = kOff - pad
        let lo = min(shift < 0 ? (-shift + stride - 1) / stride : 0, outSize)
        let lastOK = size - 1 - shift
        let hi = lastOK < 0 ? 0 : min(outSize, lastOK / stride + 1)
        return lo..<max(lo, hi)
    }
}

/// col[(ci, ky, kx), (n, oy, ox)] for the slice's images (CKernels' rk_im2col_channel, one
/// channel of one image a call), split over input channels when `parallel`.
func im2col(_ g: ConvGeometry, _ x: UnsafePointer<Float>, channelStride: Int, _ col: UnsafeMutablePointer<Float>,
            parallel: Bool = true) {
    nonisolated(unsafe) let x = x
    nonisolated(unsafe) let col = col
    let kk = g.k * g.k, planeIn = g.h * g.w, planeOut = g.ho * g.wo, cols = g.cols
    let avx2: Int32 = Kernels.avx2 ? 1 : 0
    forEach(g.cin, parallel: parallel, work: g.rows * cols) { ci in
        for n in 0..<g.n {
            rk_im2col_channel(x + ci * channelStride + n * planeIn, Int32(g.h), Int32(g.w), Int32(g.k), Int32(g.stride),
                              Int32(g.pad), col + ci * kk * cols + n * planeOut, cols, avx2)
        }
    }
}

/// dx[ci, n, iy, ix] = sum over taps of dcol[(ci,ky,kx), (n,oy,ox)]; dx (the slice) is
/// overwritten. dcol is scratch and is modified (entries that fall outside are zeroed).
func col2im(_ g: ConvGeometry, _ dcol: UnsafeMutablePointer<Float>, _ dx: UnsafeMutablePointer<Float>, channelStride: Int,
            parallel: Bool = true) {
    nonisolated(unsafe) let dcol = dcol
    nonisolated(unsafe) let dx = dx
    let ho = g.ho, wo = g.wo, k = g.k, planeIn = g.h * g.w, planeOut = ho * wo
    let cols = g.cols
    let vectorStride2 = g.stride == 2 && Kernels.avx2
    // Each worker owns whole input channels, so no two threads write the same element.
    forEach(g.cin, parallel: parallel, work: g.rows * cols) { ci in
        for n in 0..<g.n {
            let d0 = dx + ci * channelStride + n * planeIn
            d0.update(repeating: 0, count: planeIn)
            for ky in 0..<k {
                let yr = g.validRange(ky, size: g.h, outSize: ho)
                for kx in 0..<k {
                    let s0 = dcol + ((ci * k + ky) * k + kx) * cols + n * planeOut
                    if g.isSameStride1 {
                        let s = kx - g.pad, w = g.w
                        if yr.isEmpty || abs(s) >= w { continue }  // this tap sees only padding
                        if s < 0 {
                            for oy in yr { (s0 + oy * w).update(repeating: 0, count: -s) }
                        } else if s > 0 {
                            for oy in yr { (s0 + oy * w + w - s).update(repeating: 0, count: s) }
                        }
                        let lo = yr.lowerBound * w + max(0, -s), hi = yr.upperBound * w - max(0, s)
                        let d = d0 + (ky - g.pad) * w + s
                        var i = lo
                        while i < hi { d[i] += s0[i]; i += 1 }
                        continue
                    }
                    let xr = g.validRange(kx, size: g.w, outSize: wo)
                    for oy in yr {
                        let s = s0 + oy * wo
                        let d = d0 + (oy * g.stride + ky - g.pad) * g.w + kx - g.pad
                        if vectorStride2 {
                            rk_scatter_add_stride2_avx2(d + 2 * xr.lowerBound, s + xr.lowerBound, xr.count)
                        } else {
                            for ox in xr { d[ox * g.stride] += s[ox] }
                        }
                    }
                }
            }
        }
    }
}
