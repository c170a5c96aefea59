// im2col / col2im for channel-major activations [C, N, H, W].
//
// col has one row per (ci, ky, kx) and one column per output position (n, oy, ox), so a
// convolution is W[Cout, Cin*k*k] x col[Cin*k*k, N*Ho*Wo] and its output is again [Cout, N, Ho, Wo].

struct ConvGeometry: Sendable {
    let cin: Int, n: Int, h: Int, w: Int
    let k: Int, stride: Int, pad: Int
    var ho: Int { (h + 2 * pad - k) / stride + 1 }
    var wo: Int { (w + 2 * pad - k) / stride + 1 }
    var rows: Int { cin * k * k }
    var cols: Int { n * ho * wo }

    /// For kernel offset kx, the output columns ox whose input column lies inside the image.
    @inline(__always)
    func validRange(_ kOff: Int, size: Int, outSize: Int) -> Range<Int> {
        // ix = ox*stride + kOff - pad must lie in [0, size)
        let shift = kOff - pad
        var lo = 0
        if shift < 0 { lo = (-shift + stride - 1) / stride }
        var hi = outSize
        let lastOK = (size - 1 - shift)
        if lastOK < 0 { hi = 0 } else { hi = min(outSize, lastOK / stride + 1) }
        return lo..<max(lo, hi)
    }
}

func im2col(_ g: ConvGeometry, _ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>) {
    nonisolated(unsafe) let x = x
    nonisolated(unsafe) let col = col
    let ho = g.ho, wo = g.wo, kk = g.k * g.k, planeIn = g.h * g.w, planeOut = ho * wo
    parallelFor(g.rows) { r in
        let ci = r / kk, ky = (r % kk) / g.k, kx = r % g.k
        let xr = g.validRange(kx, size: g.w, outSize: wo)
        let yr = g.validRange(ky, size: g.h, outSize: ho)
        let dstRow = col + r * g.cols
        for n in 0..<g.n {
            let src = x + (ci * g.n + n) * planeIn
            let dst = dstRow + n * planeOut
            for oy in 0..<ho {
                let d = dst + oy * wo
                guard yr.contains(oy) else {
                    d.update(repeating: 0, count: wo)
                    continue
                }
                let iy = oy * g.stride + ky - g.pad
                let s = src + iy * g.w + kx - g.pad
                if xr.lowerBound > 0 { d.update(repeating: 0, count: xr.lowerBound) }
                if g.stride == 1 {
                    (d + xr.lowerBound).update(from: s + xr.lowerBound, count: xr.count)
                } else {
                    for ox in xr { d[ox] = s[ox * g.stride] }
                }
                if xr.upperBound < wo { (d + xr.upperBound).update(repeating: 0, count: wo - xr.upperBound) }
            }
        }
    }
}

/// dx[ci, n, iy, ix] = sum over (ky, kx) of dcol[(ci,ky,kx), (n,oy,ox)]; dx is overwritten.
func col2im(_ g: ConvGeometry, _ dcol: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>) {
    nonisolated(unsafe) let dcol = dcol
    nonisolated(unsafe) let dx = dx
    let ho = g.ho, wo = g.wo, k = g.k, planeIn = g.h * g.w, planeOut = ho * wo
    // Each worker owns whole input channels, so no two threads write the same element.
    parallelFor(g.cin) { ci in
        let dxc = dx + ci * g.n * planeIn
        dxc.update(repeating: 0, count: g.n * planeIn)
        for ky in 0..<k {
            let yr = g.validRange(ky, size: g.h, outSize: ho)
            for kx in 0..<k {
                let xr = g.validRange(kx, size: g.w, outSize: wo)
                let srcRow = dcol + ((ci * k + ky) * k + kx) * g.cols
                for n in 0..<g.n {
                    let s0 = srcRow + n * planeOut
                    let d0 = dxc + n * planeIn
                    for oy in yr {
                        let s = s0 + oy * wo
                        let d = d0 + (oy * g.stride + ky - g.pad) * g.w + kx - g.pad
                        if g.stride == 1 {
                            for ox in xr { d[ox] += s[ox] }
                        } else {
                            for ox in xr { d[ox * g.stride] += s[ox] }
                        }
                    }
                }
            }
        }
    }
}
