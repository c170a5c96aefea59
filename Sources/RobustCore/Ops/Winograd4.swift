// Winograd F(4x4, 3x3) (Lavin and Gray, 2016): each 4x4 output tile from a 6x6 input tile,
// interpolation points 0, +-1, +-2 and infinity:
//
//   B^T = | 4  0 -5  0  1  0 |   G = |  1/4    0     0   |   A^T = | 1  1  1  1  1  0 |
//         | 0 -4 -4  1  1  0 |       | -1/6  -1/6  -1/6  |         | 0  1 -1  2 -2  0 |
//         | 0  4 -4 -1  1  0 |       | -1/6   1/6  -1/6  |         | 0  1  1  4  4  0 |
//         | 0 -2 -1  2  1  0 |       |  1/24  1/12  1/6  |         | 0  1 -1  8 -8  1 |
//         | 0  2 -1 -2  1  0 |       |  1/24 -1/12  1/6  |
//         | 0  4  0 -5  0  1 |       |  0     0     1    |
//
// 36 multiplies per 16 outputs: 4x fewer than direct convolution and 1.78x fewer than
// F(2x2, 3x3) (16 per 4). With few channels the GEMMs are bound by memory rather than
// arithmetic, and V and M shrink by the same factor (36 floats per 16 pixels instead of 16
// per 4), so the saving holds there too. The transforms do about twice F(2x2)'s arithmetic per
// pixel while writing about half the data: measured, they take about as long as F(2x2)'s, so
// the gain is the GEMMs' (0-7% of a step here: bench/results/perf/README.md). The larger constants
// cost accuracy: WinogradTests' errors stay below 1.5e-6 of the largest output for both tile
// sizes; the test bounds them by 1e-5.
//
// Same layout and SIMD scheme as F(2x2): tile t of a slice is (image, tile row, tile column),
// a tile row's tiles are SIMD lanes, four at a time (so the width must be a multiple of 16:
// the 32x32 and 16x16 layers; two-lane code compiled to scalar arithmetic, and eight lanes
// spilled most of the 36 values of a tile, both slower than F(2x2)); the input plane is split
// into its four column phases so that the six columns of each tile are contiguous loads.

import CKernels

enum Winograd4 {
    /// U[e][co][ci] = (G g G^T)[e], e = 6i + j, for the filters w[Cout, Cin, 3, 3]; u holds 36*Cout*Cin.
    static func transformWeights(_ w: UnsafePointer<Float>, cout: Int, cin: Int, into u: UnsafeMutablePointer<Float>) {
        let plane = cout * cin
        for f in 0..<plane {
            let g = w + 9 * f
            // t = G g (6x3): column b of t from column b of g; lanes are rows i of t (6 and 7 unused)
            @inline(__always) func column(_ b: Int) -> SIMD8<Float> {
                let g0 = g[b], g1 = g[3 + b], g2 = g[6 + b]
                return SIMD8(0.25 * g0, -(g0 + g1 + g2) / 6, -(g0 - g1 + g2) / 6,
                             g0 / 24 + g1 / 12 + g2 / 6, g0 / 24 - g1 / 12 + g2 / 6, g2, 0, 0)
            }
            let c0 = column(0), c1 = column(1), c2 = column(2)
            // u = t G^T: column j of u is G[j] applied to the columns of t
            @inline(__always) func store(_ j: Int, _ col: SIMD8<Float>) {
                for i in 0..<6 { u[(6 * i + j) * plane + f] = col[i] }
            }
            store(0, 0.25 * c0)
            store(1, -(c0 + c1 + c2) / 6)
            store(2, -(c0 - c1 + c2) / 6)
            store(3, c0 / 24 + c1 / 12 + c2 / 6)
            store(4, c0 / 24 - c1 / 12 + c2 / 6)
            store(5, c2)
        }
    }

    /// Floats of scratch that `transformInput` needs for one image plane (four column phases).
    static func scratchCount(h: Int, w: Int) -> Int { 4 * (h + 2) * (w / 4 + 1) }

    /// V[e][ci][t] for channels `channels` of a slice of `images` images of h x w (h a multiple
    /// of 4, w of 16), tile rows `tileRows` of each image (nil: all; a band writes only its
    /// tiles' columns of V). x points at the slice's first image of channel 0; channels are
    /// `channelStride` apart. v has row length `ldv` and e-planes `planeStride` apart.
    static func transformInput(_ x: UnsafePointer<Float>, channelStride: Int, channels: Range<Int>, images: Int,
                               h: Int, w: Int, tileRows: Range<Int>? = nil, v: UnsafeMutablePointer<Float>, ldv: Int,
                               planeStride: Int, scratch: UnsafeMutablePointer<Float>) {
        let band = tileRows ?? 0..<(h / 4)
        if h == 4 && w == 4 {  // one tile a plane: eight images a vector (CKernels/winograd4_plane4_avx2.c)
            precondition(Kernels.avx2 && band == 0..<1, "4x4 planes take 4x4 tiles only on the AVX2 kernels, whole")
            rk_wino4_input_plane4_avx2(x, channelStride, Int32(channels.lowerBound), Int32(channels.upperBound), Int32(images),
                                       v, ldv, planeStride)
            return
        }
        if Kernels.avx2 {  // the same transform, eight tiles a vector (CKernels/winograd4_avx2.c)
            rk_wino4_input_avx2(x, channelStride, Int32(channels.lowerBound), Int32(channels.upperBound), Int32(images),
                                Int32(h), Int32(w), Int32(band.lowerBound), Int32(band.upperBound), v, ldv, planeStride, scratch)
            return
        }
        let tw = w / 4, th = h / 4, tilesPerImage = th * tw
        // Zero-padded plane pad(r, c) = x[r-1][c-1] split by column phase: pad(r, 4k+q) = q_q[r][k].
        // The 6 columns of the tile at tx are q0[tx], q1[tx], q2[tx], q3[tx], q0[tx+1], q1[tx+1].
        let rs = tw + 1, phase = (h + 2) * rs
        let q0 = scratch, q1 = q0 + phase, q2 = q1 + phase, q3 = q2 + phase
        // Row 0, row h+1, q0[.][0] and q1[.][tw] are the padding: zero, never written below.
        scratch.update(repeating: 0, count: 4 * phase)
        withUnsafeTemporaryAllocation(of: SIMD4<Float>.self, capacity: 36) { buf in
        let t = buf.baseAddress!
        for ci in channels {
            for n in 0..<images {
                let src = x + ci * channelStride + n * h * w
                for r in 0..<h {
                    let s = src + r * w, o = (r + 1) * rs
                    for k in 0..<tw {
                        q1[o + k] = s[4 * k]
                        q2[o + k] = s[4 * k + 1]
                        q3[o + k] = s[4 * k + 2]
                        q0[o + k + 1] = s[4 * k + 3]
                    }
                }
                for ty in band {
                    let b = 4 * ty * rs
                    let dst = v + ci * ldv + n * tilesPerImage + ty * tw
                    var tx = 0
                    while tx < tw { inputTiles(q0 + b, q1 + b, q2 + b, q3 + b, rs, tx, dst, planeStride, t); tx += 4 }
                }
            }
        }
        }
    }

    /// B^T p for six values (a row or a column of a tile).
    @inline(__always)
    static func bt<V: SIMD>(_ p0: V, _ p1: V, _ p2: V, _ p3: V, _ p4: V, _ p5: V) -> (V, V, V, V, V, V)
        where V.Scalar == Float {
        let a = p4 - 4 * p2, b = p3 - 4 * p1, c = p4 - p2, d = 2 * (p3 - p1)
        return (4 * p0 - 5 * p2 + p4, a + b, a - b, c + d, c - d, 4 * p1 - 5 * p3 + p5)
    }

    /// V = B^T d B for tiles tx..<tx+4 of one tile row (rows r of d: padded rows r of the tile
    /// row, in their four column phases, rs apart). The rows' results pass through `t` (36
    /// vectors in memory): kept in registers, the 36 values spilled anyway, in worse order.
    @inline(__always)
    static func inputTiles(_ q0: UnsafePointer<Float>, _ q1: UnsafePointer<Float>,
                           _ q2: UnsafePointer<Float>, _ q3: UnsafePointer<Float>, _ rs: Int, _ tx: Int,
                           _ dst: UnsafeMutablePointer<Float>, _ ps: Int, _ t: UnsafeMutablePointer<SIMD4<Float>>) {
        typealias V = SIMD4<Float>
        for r in 0..<6 {  // d B, row r
            let o = r * rs + tx
            let c = bt(Winograd.load(q0 + o) as V, Winograd.load(q1 + o), Winograd.load(q2 + o),
                       Winograd.load(q3 + o), Winograd.load(q0 + o + 1), Winograd.load(q1 + o + 1))
            t[6 * r] = c.0; t[6 * r + 1] = c.1; t[6 * r + 2] = c.2; t[6 * r + 3] = c.3; t[6 * r + 4] = c.4; t[6 * r + 5] = c.5
        }
        let d = dst + tx
        for j in 0..<6 {  // B^T (d B), column j: e = 6i + j
            let c = bt(t[j], t[6 + j], t[12 + j], t[18 + j], t[24 + j], t[30 + j])
            Winograd.store(c.0, d + j * ps); Winograd.store(c.1, d + (6 + j) * ps)
            Winograd.store(c.2, d + (12 + j) * ps); Winograd.store(c.3, d + (18 + j) * ps)
            Winograd.store(c.4, d + (24 + j) * ps); Winograd.store(c.5, d + (30 + j) * ps)
        }
    }

    /// A^T m for six values.
    @inline(__always)
    static func at<V: SIMD>(_ m0: V, _ m1: V, _ m2: V, _ m3: V, _ m4: V, _ m5: V) -> (V, V, V, V)
        where V.Scalar == Float {
        let a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4
        return (m0 + a + c, b + 2 * d, a + 4 * c, b + 8 * d + m5)
    }

    /// Y for channels `channels` and tile rows `tileRows` (nil: all) from M[e][co][t] (row length
    /// ldm, e-planes planeStride apart) into the slice's output planes (y at the first image of
    /// channel 0, channels channelStride apart).
    static func transformOutput(_ m: UnsafePointer<Float>, ldm: Int, planeStride: Int, channels: Range<Int>, images: Int,
                                h: Int, w: Int, tileRows: Range<Int>? = nil, y: UnsafeMutablePointer<Float>,
                                channelStride: Int) {
        let band = tileRows ?? 0..<(h / 4)
        if h == 4 && w == 4 {
            precondition(Kernels.avx2 && band == 0..<1, "4x4 planes take 4x4 tiles only on the AVX2 kernels, whole")
            rk_wino4_output_plane4_avx2(m, ldm, planeStride, Int32(channels.lowerBound), Int32(channels.upperBound),
                                        Int32(images), y, channelStride, nil, nil, nil, 0, 0)
            return
        }
        if Kernels.avx2 {
            rk_wino4_output_avx2(m, ldm, planeStride, Int32(channels.lowerBound), Int32(channels.upperBound), Int32(images),
                                 Int32(h), Int32(w), Int32(band.lowerBound), Int32(band.upperBound), y, channelStride)
            return
        }
        let tw = w / 4, th = h / 4, tilesPerImage = th * tw
        withUnsafeTemporaryAllocation(of: SIMD4<Float>.self, capacity: 40) { buf in
            let t = buf.baseAddress!
            for co in channels {
                for n in 0..<images {
                    let plane = y + co * channelStride + n * h * w
                    for ty in band {
                        let src = m + co * ldm + n * tilesPerImage + ty * tw
                        let row = plane + 4 * ty * w
                        var tx = 0
                        while tx < tw { outputTiles(src + tx, planeStride, row + 4 * tx, w, t); tx += 4 }
                    }
                }
            }
        }
    }

    /// Y = A^T m A for four tiles (m at the first tile of plane e = 0, planes ps apart), written
    /// to the four output rows from o (w apart). Stages pass through `t` (40 vectors), as in
    /// `inputTiles`: m A per row of m, A^T (m A) per column, then each output row's transpose.
    @inline(__always)
    static func outputTiles(_ p: UnsafePointer<Float>, _ ps: Int, _ o: UnsafeMutablePointer<Float>, _ w: Int,
                            _ t: UnsafeMutablePointer<SIMD4<Float>>) {
        typealias V = SIMD4<Float>
        for i in 0..<6 {  // m A, row i
            let q = p + 6 * i * ps
            let s = at(Winograd.load(q) as V, Winograd.load(q + ps), Winograd.load(q + 2 * ps),
                       Winograd.load(q + 3 * ps), Winograd.load(q + 4 * ps), Winograd.load(q + 5 * ps))
            t[4 * i] = s.0; t[4 * i + 1] = s.1; t[4 * i + 2] = s.2; t[4 * i + 3] = s.3
        }
        for l in 0..<4 {  // A^T (m A), column l: t[24 + 4k + l] = Y[k][l]
            let y = at(t[l], t[4 + l], t[8 + l], t[12 + l], t[16 + l], t[20 + l])
            t[24 + l] = y.0; t[28 + l] = y.1; t[32 + l] = y.2; t[36 + l] = y.3
        }
        for k in 0..<4 { storeRow(t[24 + 4 * k], t[25 + 4 * k], t[26 + 4 * k], t[27 + 4 * k], o + k * w) }
    }

    /// One output row of 4 tiles: a 4x4 transpose. Not inlined on purpose: inlined into
    /// the transform, the optimizer mixed the transpose into the arithmetic and emitted a
    /// shuffle per element (transformOutput took 1.6x F(2x2)'s time); alone it is a few unpacks.
    @inline(never) static func storeRow(_ a: SIMD4<Float>, _ b: SIMD4<Float>, _ c: SIMD4<Float>, _ d: SIMD4<Float>,
                                        _ o: UnsafeMutablePointer<Float>) {
        Winograd.store(interleave4(a, b, c, d), o)
    }
    /// (a0, b0, c0, d0, a1, b1, c1, d1, ...): the four output columns of each tile, side by side.
    /// Built from two-way interleaves (unpack instructions); element by element it compiled to
    /// a shuffle per element.
    @inline(__always) static func interleave4(_ a: SIMD4<Float>, _ b: SIMD4<Float>, _ c: SIMD4<Float>, _ d: SIMD4<Float>) -> SIMD16<Float> {
        let ac = Winograd.interleave(a, c), bd = Winograd.interleave(b, d)
        return SIMD16(lowHalf: Winograd.interleave(ac.lowHalf, bd.lowHalf), highHalf: Winograd.interleave(ac.highHalf, bd.highHalf))
    }

    /// dW[co][ci] = G^T dU[.][co][ci] G: the adjoint of `transformWeights`, from
    /// dU[36][Cout][Cin] (e = 6i + j), as Winograd.filterGradient is for 2x2 tiles.
    static func filterGradient(_ du: UnsafePointer<Float>, cout: Int, cin: Int, into dw: UnsafeMutablePointer<Float>) {
        let plane = cout * cin
        // G's rows (6x3), the matrix in this file's header.
        let g: [(Float, Float, Float)] = [(0.25, 0, 0), (-1.0 / 6, -1.0 / 6, -1.0 / 6), (-1.0 / 6, 1.0 / 6, -1.0 / 6),
                                          (1.0 / 24, 1.0 / 12, 1.0 / 6), (1.0 / 24, -1.0 / 12, 1.0 / 6), (0, 0, 1)]
        let rows = g.map { SIMD4<Float>($0.0, $0.1, $0.2, 0) }
        for f in 0..<plane {
            // T = G^T dU (3x6), one column j at a time (lanes: rows a of T); then dW = T G,
            // accumulated as the three columns b of dW (lanes: rows a).
            var r0 = SIMD4<Float>.zero, r1 = SIMD4<Float>.zero, r2 = SIMD4<Float>.zero
            for j in 0..<6 {
                var tj = SIMD4<Float>.zero
                for i in 0..<6 { tj += rows[i] * du[(6 * i + j) * plane + f] }
                r0 += tj * g[j].0; r1 += tj * g[j].1; r2 += tj * g[j].2
            }
            let o = dw + 9 * f
            for a in 0..<3 { o[3 * a] = r0[a]; o[3 * a + 1] = r1[a]; o[3 * a + 2] = r2[a] }
        }
    }
}
