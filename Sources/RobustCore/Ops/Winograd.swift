// Winograd F(2x2, 3x3) for 3x3, stride-1, pad-1 convolutions (Lavin and Gray, 2016).
//
// Each 2x2 output tile comes from a 4x4 input tile d:
//
//   Y = A^T [ U (.) V ] A,   U = G g G^T (per filter),  V = B^T d B (per input tile)
//
//   B^T = | 1  0 -1  0 |     G = | 1    0    0  |     A^T = | 1  1  1  0 |
//         | 0  1  1  0 |         | 1/2  1/2  1/2|           | 0  1 -1 -1 |
//         | 0 -1  1  0 |         | 1/2 -1/2  1/2|
//         | 0  1  0 -1 |         | 0    0    1  |
//
// Summed over input channels, the 16 elementwise products become 16 GEMMs
// M[e][Cout, tiles] = U[e][Cout, Cin] . V[e][Cin, tiles]: 16 multiplies per 4 outputs where
// direct convolution needs 36, so 2.25x fewer FLOPs, and V is 4x the input where im2col is
// 9x. The transforms are additions only. fp32 error grows a little (about 1e-6 relative on
// unit-scale data; the tests bound it), well inside what SGD tolerates, so training uses it
// too: for the forward pass, the input gradient (a 3x3 convolution of dy with the flipped
// filters) and the weight gradient (dU[e] = sum over tiles of (A dY A^T)[e] V[e]^T, then
// dW = G^T dU G: the adjoints of the output and filter transforms).
//
// The forward pass and the input gradient use F(4x4, 3x3) instead where the width is a
// multiple of 16 (Winograd4.swift: 36 multiplies per 16 outputs, the 32x32 and 16x16 layers);
// so does the weight gradient where the CPU has AVX2 (`gradTile`; its 4x4 output-gradient
// transform is a CKernels kernel only), at about 6x F(2x2)'s rounding error (WinogradTests).
//
// Layout: a slice of images, channel-major like the rest of the engine; tile t of the slice is
// (image, tile row, tile column) in that order, so a tile row's tiles are contiguous in V and
// M and every transform runs over them as SIMD lanes.

import CKernels

enum Winograd {
    /// ROBUST_WINOGRAD=0 turns the path off (im2col everywhere), ROBUST_WINOGRAD=eval keeps it
    /// for inference only: for comparison.
    nonisolated(unsafe) static var enabled: Bool = getenvString("ROBUST_WINOGRAD") != "0"
    nonisolated(unsafe) static var inTraining: Bool = !["0", "eval"].contains(getenvString("ROBUST_WINOGRAD") ?? "")

    /// Below this many tiles in a call (2x2 tiles; for the 4x4 path, 4x4 tiles: below it the
    /// call falls back to 2x2 tiles), im2col is used instead: with few tiles each
    /// transformed filter (16/9 the size of the filter) is read for only a handful of columns,
    /// and the 16 small GEMMs cost more in packing than they save in multiplies (batch-1
    /// inference of the 4x4 and 8x8 layers).
    nonisolated(unsafe) static var minTiles: Int = {
        if let s = getenvString("ROBUST_WINOGRAD_MIN_TILES"), let v = Int(s), v >= 0 { return v }
        return 64
    }()

    /// `minTiles` for layers whose GEMMs run on the small-GEMM kernel (AVX2, at most
    /// `smallGemmMaxK` input channels), which packs nothing: there 16 tiles pay, which moves a
    /// single image's 8x8 layers at width 16 (64 channels) from the direct kernel to Winograd.
    /// Paired A/B, 20 pairs: width-16 latency 0.921x (16 of 20 faster) with 16 against 64;
    /// 4 (the 4x4 layers as well, when they have at most 64 channels) was 1.255x. At widths 32
    /// and 64 the 8x8 layers have 128 and 256 channels and the OpenBLAS GEMM: 16 for every layer
    /// made their latency 1.08x and 1.18x, which is why this threshold is separate.
    nonisolated(unsafe) static var minTilesSmallGemm: Int = {
        if let s = getenvString("ROBUST_WINOGRAD_MIN_TILES_SMALL"), let v = Int(s), v >= 0 { return v }
        return 16
    }()

    /// The shapes this path handles: 3x3, stride 1, pad 1, height even and width a multiple
    /// of 4 (so a tile row holds an even number of tiles, which the SIMD tails rely on), and
    /// at least `minTiles` tiles over the batch (`minTilesSmallGemm` for `cin` channels that
    /// the small-GEMM kernel takes).
    static func applies(k: Int, stride: Int, pad: Int, n: Int = Int.max / (1 << 20), h: Int, w: Int,
                        cin: Int = Int.max) -> Bool {
        let smallGemm = Kernels.avx2 && cin <= smallGemmMaxK
        return enabled && k == 3 && stride == 1 && pad == 1 && h >= 2 && w >= 4 && h % 2 == 0 && w % 4 == 0
            && n * (h / 2) * (w / 2) >= (smallGemm ? minTilesSmallGemm : minTiles)
    }

    /// F(4x4, 3x3) where the shape allows it (Winograd4.swift); ROBUST_WINOGRAD_TILE=2 keeps
    /// F(2x2, 3x3) everywhere, for comparison.
    nonisolated(unsafe) static var largeTiles: Bool = getenvString("ROBUST_WINOGRAD_TILE") != "2"

    /// F(4x4) on 4x4 planes (the last stage), eight images a vector, where the CPU has AVX2:
    /// 36 multiplies an image instead of 64 with four 2x2 tiles. ROBUST_WINOGRAD_PLANE4=0 keeps
    /// 2x2 tiles there, for comparison.
    nonisolated(unsafe) static var plane4Tiles: Bool = getenvString("ROBUST_WINOGRAD_PLANE4") != "0"
    /// ... up to this many channels (the larger of input and output). With one tile an image a
    /// 2 MiB slice holds few images, so the GEMMs' N is small: at 512 channels (width 64) a
    /// batch-256 pass took 1.063x the 2x2 tiles' time (`bench --ab plane4-tiles`), at 256
    /// 0.988x, at 128 (width 16) 0.932x.
    nonisolated(unsafe) static var plane4MaxChannels: Int = 256

    /// The output tile of the pass for a shape that `applies`: 4x4 when the height is a
    /// multiple of 4, a tile row holds a multiple of four 4-wide tiles (width a multiple of
    /// 16: Winograd4's SIMD lanes) and the batch has at least `minTiles` of them, or the plane
    /// is 4x4 and the batch has at least 8 images (and `minTiles` tiles); else 2x2 (the 8x8
    /// layers of the network, small batches of the 4x4 ones, batch 1 of the 16x16 ones).
    static func tile(n: Int, h: Int, w: Int, channels: Int = 0) -> WinogradTile {
        guard largeTiles && h % 4 == 0 && n * (h / 4) * (w / 4) >= minTiles else { return .two }
        if w % 16 == 0 { return .four }
        // A 4x4 plane is one tile: its lanes are eight images (CKernels' plane kernels).
        return h == 4 && w == 4 && n >= 8 && Kernels.avx2 && plane4Tiles && channels <= plane4MaxChannels ? .four : .two
    }

    /// U[e][co][ci] for the filters w[Cout, Cin, 3, 3] in the tile's transform (16 or 36 planes).
    static func transformWeights(_ w: UnsafePointer<Float>, cout: Int, cin: Int, tile: WinogradTile,
                                 into u: UnsafeMutablePointer<Float>) {
        if avx2Filters {
            transformWeightsAVX2(w, cout: cout, cin: cin, tile: tile, flipped: false, into: u)
            return
        }
        switch tile {
        case .two: transformWeights(w, cout: cout, cin: cin, into: u)
        case .four: Winograd4.transformWeights(w, cout: cout, cin: cin, into: u)
        }
    }

    /// The same on CKernels' AVX2 kernel, eight filters a vector; `flipped`: the input
    /// gradient's filters, U[e][ci][co] from w[co][ci] rotated by 180 degrees, without the copy
    /// that `Conv2d.flippedFilters` makes. Two workers split the filters of large layers.
    /// Evaluation's epilogue (folded batch norm, residual, ReLU) inside the AVX2 output
    /// transform's stores (F(4x4), and F(2x2) on widths that are a multiple of 8), where a
    /// batch's slices take whole images (on), or as a pass over
    /// each slice's output after it (off; ROBUST_WINOGRAD_FUSED_EPILOGUE=0). The same outputs
    /// bit for bit, one pass over the output fewer.
    nonisolated(unsafe) static var fusedOutputEpilogue: Bool = getenvString("ROBUST_WINOGRAD_FUSED_EPILOGUE") != "0"
    static var fusedEpilogue: Bool { Kernels.avx2 && fusedOutputEpilogue }

    /// ROBUST_WINOGRAD_FILTER_KERNELS=0 keeps the portable filter transforms (for comparison).
    nonisolated(unsafe) static var filterKernels: Bool = getenvString("ROBUST_WINOGRAD_FILTER_KERNELS") != "0"
    static var avx2Filters: Bool { Kernels.avx2 && filterKernels }

    static func transformWeightsAVX2(_ w: UnsafePointer<Float>, cout: Int, cin: Int, tile: WinogradTile, flipped: Bool,
                                     into u: UnsafeMutablePointer<Float>) {
        let count = cout * cin
        nonisolated(unsafe) let w = w, u = u
        let parts = count >= 4096 ? min(Threads.count, 2) : 1
        parallelFor(parts, work: parts > 1 ? Int.max : 0) { t in
            let r = blockRange(t, of: parts, count: count, block: 8)
            if !r.isEmpty {
                rk_wino_filters_avx2(w, cout, cin, Int32(tile.rawValue), flipped ? 1 : 0, r.lowerBound, r.upperBound, u)
            }
        }
    }

    /// U[e][co][ci] = (G g G^T)[e] for the filters w[Cout, Cin, 3, 3]; u holds 16*Cout*Cin.
    static func transformWeights(_ w: UnsafePointer<Float>, cout: Int, cin: Int, into u: UnsafeMutablePointer<Float>) {
        let plane = cout * cin
        for f in 0..<plane {
            let g = w + 9 * f
            // t = G g (4x3, rows i), then u = t G^T (4x4)
            @inline(__always) func column(_ b: Int) -> SIMD4<Float> {
                let g0 = g[b], g1 = g[3 + b], g2 = g[6 + b]
                return SIMD4(g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2)
            }
            let c0 = column(0), c1 = column(1), c2 = column(2)  // lanes: rows i of t
            let u0 = c0, u1 = 0.5 * (c0 + c1 + c2), u2 = 0.5 * (c0 - c1 + c2), u3 = c2
            for i in 0..<4 {
                u[(4 * i + 0) * plane + f] = u0[i]
                u[(4 * i + 1) * plane + f] = u1[i]
                u[(4 * i + 2) * plane + f] = u2[i]
                u[(4 * i + 3) * plane + f] = u3[i]
            }
        }
    }

    /// Distance between the e-planes (16, or 36 for 4x4 tiles) of V or M (rows x ld floats
    /// each). The transforms read or write all planes at once: planes a multiple of 4 KiB
    /// apart would all fall in the same L1 sets (and alias store-to-load), so the stride is an
    /// odd number of cache lines.
    static func planeStride(rows: Int, ld: Int) -> Int {
        var lines = (rows * ld + 15) / 16
        if lines % 2 == 0 { lines += 1 }
        return 16 * lines
    }

    /// Floats of scratch that `transformInput` needs for one image plane.
    static func scratchCount(h: Int, w: Int) -> Int { 2 * (h + 2) * (w / 2 + 1) }

    /// V[e][ci][t] for channels `channels` of a slice of `images` images of h x w, tile rows
    /// `tileRows` of each image (nil: all; a band writes only its tiles' columns of V).
    /// x points at the slice's first image of channel 0; channels are `channelStride` apart.
    /// v has row length (distance between ci rows) `ldv` and e-planes `planeStride` apart.
    static func transformInput(_ x: UnsafePointer<Float>, channelStride: Int, channels: Range<Int>, images: Int,
                               h: Int, w: Int, tileRows: Range<Int>? = nil, v: UnsafeMutablePointer<Float>, ldv: Int,
                               planeStride: Int, scratch: UnsafeMutablePointer<Float>) {
        let band = tileRows ?? 0..<(h / 2)
        if Kernels.avx2 && w % 8 == 0 {  // eight tiles a vector (CKernels/winograd2_avx2.c)
            rk_wino2_input_avx2(x, channelStride, Int32(channels.lowerBound), Int32(channels.upperBound), Int32(images),
                                Int32(h), Int32(w), Int32(band.lowerBound), Int32(band.upperBound), v, ldv, planeStride, scratch)
            return
        }
        let tw = w / 2, th = h / 2, tilesPerImage = th * tw
        // Zero-padded plane split into even and odd columns: pad(r, 2k) = even[r][k],
        // pad(r, 2k+1) = odd[r][k], with pad(r, c) = x[r-1][c-1]. Then the 4 columns of the
        // tile at tx are even[tx], odd[tx], even[tx+1], odd[tx+1]: contiguous loads.
        let rs = tw + 1
        let even = scratch, odd = scratch + (h + 2) * rs
        even.update(repeating: 0, count: 2 * (h + 2) * rs)
        for ci in channels {
            for n in 0..<images {
                let src = x + ci * channelStride + n * h * w
                for r in 0..<h {
                    let s = src + r * w, e = even + (r + 1) * rs, o = odd + (r + 1) * rs
                    for k in 0..<tw {
                        o[k] = s[2 * k]          // pad column 2k+1 = x column 2k
                        e[k + 1] = s[2 * k + 1]  // pad column 2k+2 = x column 2k+1
                    }
                }
                for ty in band {
                    let e = even + 2 * ty * rs, o = odd + 2 * ty * rs
                    let dst = v + ci * ldv + n * tilesPerImage + ty * tw
                    var tx = 0
                    while tx + 8 <= tw { inputTiles(SIMD8<Float>.self, e, o, rs, tx, dst, planeStride); tx += 8 }
                    if tx + 4 <= tw { inputTiles(SIMD4<Float>.self, e, o, rs, tx, dst, planeStride); tx += 4 }
                    if tx + 2 <= tw { inputTiles(SIMD2<Float>.self, e, o, rs, tx, dst, planeStride); tx += 2 }
                }
            }
        }
    }

    /// Y for channels `channels` and tile rows `tileRows` (nil: all) from M[e][co][t] (row length
    /// ldm, e-planes planeStride apart) into the slice's output planes (y at the first image of
    /// channel 0, channels channelStride apart).
    static func transformOutput(_ m: UnsafePointer<Float>, ldm: Int, planeStride: Int, channels: Range<Int>, images: Int,
                                h: Int, w: Int, tileRows: Range<Int>? = nil, y: UnsafeMutablePointer<Float>,
                                channelStride: Int) {
        let band = tileRows ?? 0..<(h / 2)
        if Kernels.avx2 && w % 8 == 0 {
            rk_wino2_output_avx2(m, ldm, planeStride, Int32(channels.lowerBound), Int32(channels.upperBound), Int32(images),
                                 Int32(h), Int32(w), Int32(band.lowerBound), Int32(band.upperBound), y, channelStride)
            return
        }
        let tw = w / 2, th = h / 2, tilesPerImage = th * tw
        for co in channels {
            for n in 0..<images {
                let plane = y + co * channelStride + n * h * w
                for ty in band {
                    let src = m + co * ldm + n * tilesPerImage + ty * tw
                    let row0 = plane + 2 * ty * w, row1 = row0 + w
                    var tx = 0
                    while tx + 8 <= tw {
                        let (a, b, c, d) = outputTiles(SIMD8<Float>.self, src, planeStride, tx)
                        store(interleave(a, b), row0 + 2 * tx); store(interleave(c, d), row1 + 2 * tx)
                        tx += 8
                    }
                    if tx + 4 <= tw {
                        let (a, b, c, d) = outputTiles(SIMD4<Float>.self, src, planeStride, tx)
                        store(interleave(a, b), row0 + 2 * tx); store(interleave(c, d), row1 + 2 * tx)
                        tx += 4
                    }
                    if tx + 2 <= tw {
                        let (a, b, c, d) = outputTiles(SIMD2<Float>.self, src, planeStride, tx)
                        store(interleave(a, b), row0 + 2 * tx); store(interleave(c, d), row1 + 2 * tx)
                        tx += 2
                    }
                }
            }
        }
    }

    /// V = B^T d B for tiles tx..<tx+lanes of one tile row: rows r of d are padded rows r of
    /// the tile row (e, o: even and odd columns, rs apart).
    @inline(__always)
    static func inputTiles<V: SIMD>(_: V.Type, _ e: UnsafePointer<Float>, _ o: UnsafePointer<Float>, _ rs: Int, _ tx: Int,
                                    _ dst: UnsafeMutablePointer<Float>, _ ps: Int) where V.Scalar == Float {
        @inline(__always) func row(_ r: Int) -> (V, V, V, V) {
            let p0: V = load(e + r * rs + tx), p1: V = load(o + r * rs + tx)
            let p2: V = load(e + r * rs + tx + 1), p3: V = load(o + r * rs + tx + 1)
            return (p0 - p2, p1 + p2, p2 - p1, p1 - p3)  // d B
        }
        let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3)
        let d = dst + tx
        // B^T (d B), e = 4i + j
        store(r0.0 - r2.0, d); store(r0.1 - r2.1, d + ps); store(r0.2 - r2.2, d + 2 * ps); store(r0.3 - r2.3, d + 3 * ps)
        store(r1.0 + r2.0, d + 4 * ps); store(r1.1 + r2.1, d + 5 * ps); store(r1.2 + r2.2, d + 6 * ps); store(r1.3 + r2.3, d + 7 * ps)
        store(r2.0 - r1.0, d + 8 * ps); store(r2.1 - r1.1, d + 9 * ps); store(r2.2 - r1.2, d + 10 * ps); store(r2.3 - r1.3, d + 11 * ps)
        store(r1.0 - r3.0, d + 12 * ps); store(r1.1 - r3.1, d + 13 * ps); store(r1.2 - r3.2, d + 14 * ps); store(r1.3 - r3.3, d + 15 * ps)
    }

    /// A^T m A for tiles tx..<tx+lanes: (y00, y01, y10, y11), lane = tile.
    @inline(__always)
    static func outputTiles<V: SIMD>(_: V.Type, _ src: UnsafePointer<Float>, _ ps: Int, _ tx: Int) -> (V, V, V, V)
        where V.Scalar == Float {
        @inline(__always) func row(_ i: Int) -> (V, V) {
            let m0: V = load(src + (4 * i) * ps + tx), m1: V = load(src + (4 * i + 1) * ps + tx)
            let m2: V = load(src + (4 * i + 2) * ps + tx), m3: V = load(src + (4 * i + 3) * ps + tx)
            return (m0 + m1 + m2, m1 - m2 - m3)  // m A
        }
        let s0 = row(0), s1 = row(1), s2 = row(2), s3 = row(3)
        return (s0.0 + s1.0 + s2.0, s0.1 + s1.1 + s2.1, s1.0 - s2.0 - s3.0, s1.1 - s2.1 - s3.1)
    }

    @inline(__always) static func load<V: SIMD>(_ p: UnsafePointer<Float>) -> V where V.Scalar == Float {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }
    @inline(__always) static func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>) where V.Scalar == Float {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }
    /// (a0, b0, a1, b1, ...): the two output columns of each tile, side by side.
    @inline(__always) static func interleave(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD16<Float> {
        SIMD16(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7])
    }
    @inline(__always) static func interleave(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD8<Float> {
        SIMD8(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3])
    }
    @inline(__always) static func interleave(_ a: SIMD2<Float>, _ b: SIMD2<Float>) -> SIMD4<Float> {
        SIMD4(a[0], b[0], a[1], b[1])
    }
}

extension Conv2d {
    /// Forward through Winograd (F(4x4, 3x3) or F(2x2, 3x3): `Winograd.tile`), with the same
    /// epilogue and residual semantics as the im2col path. In evaluation the transformed filters
    /// are cached until the weight parameter's version or the tile size changes (a model that
    /// alternates batch 1 and large batches on a 16x16 layer re-transforms each time: a small
    /// cost next to the pass); a training forward always rebuilds them (cheap next to a
    /// batch), so code that perturbs weights directly (gradient checks) stays correct.
    func forwardWinograd(_ x: Tensor, _ g: ConvGeometry, mode: Mode, epilogue: ChannelAffine?, residual: Tensor?,
                         bandOutput: Bool = false) -> Tensor {
        let (cin, cout) = (self.cin, self.cout)
        let tile = Winograd.tile(n: g.n, h: g.h, w: g.w, channels: max(cin, cout))
        if mode == .train || winogradVersion != weight.version || winogradU.shape != [tile.planes, cout, cin] {
            winogradU.reshape([tile.planes, cout, cin])
            Profiler.measure("conv.winograd.filters") {
                Winograd.transformWeights(weight.value.data, cout: cout, cin: cin, tile: tile, into: winogradU.data)
            }
            winogradVersion = weight.version
        }
        output.bands = Winograd.convolve(x.data, n: g.n, h: g.h, w: g.w, cin: cin, cout: cout, tile: tile,
                                         u: winogradU.data, y: output.data, epilogue: epilogue, residual: residual?.data,
                                         workspace: workspace, xBands: x.bands, residualBands: residual?.bands,
                                         bandOutput: bandOutput)
        return output
    }
}

/// The output tile of a Winograd pass: F(2x2, 3x3) or F(4x4, 3x3).
enum WinogradTile: Int, Sendable {
    case two = 2, four = 4
    /// Elements of a transformed tile: the number of GEMMs.
    var planes: Int { (rawValue + 2) * (rawValue + 2) }

    /// Floats of scratch the tile's input transform needs for one image plane.
    func scratchCount(h: Int, w: Int) -> Int {
        self == .four ? Winograd4.scratchCount(h: h, w: w) : Winograd.scratchCount(h: h, w: w)
    }

    /// The tile's input transform (Winograd4.transformInput or Winograd.transformInput).
    @inline(__always)
    func transformInput(_ x: UnsafePointer<Float>, channelStride: Int, channels: Range<Int>, images: Int, h: Int, w: Int,
                        tileRows: Range<Int>? = nil, v: UnsafeMutablePointer<Float>, ldv: Int, planeStride: Int,
                        scratch: UnsafeMutablePointer<Float>) {
        if self == .four {
            Winograd4.transformInput(x, channelStride: channelStride, channels: channels, images: images, h: h, w: w,
                                     tileRows: tileRows, v: v, ldv: ldv, planeStride: planeStride, scratch: scratch)
        } else {
            Winograd.transformInput(x, channelStride: channelStride, channels: channels, images: images, h: h, w: w,
                                    tileRows: tileRows, v: v, ldv: ldv, planeStride: planeStride, scratch: scratch)
        }
    }

    /// The tile's output transform (Winograd4.transformOutput or Winograd.transformOutput).
    @inline(__always)
    func transformOutput(_ m: UnsafePointer<Float>, ldm: Int, planeStride: Int, channels: Range<Int>, images: Int,
                         h: Int, w: Int, tileRows: Range<Int>? = nil, y: UnsafeMutablePointer<Float>, channelStride: Int) {
        if self == .four {
            Winograd4.transformOutput(m, ldm: ldm, planeStride: planeStride, channels: channels, images: images, h: h, w: w,
                                      tileRows: tileRows, y: y, channelStride: channelStride)
        } else {
            Winograd.transformOutput(m, ldm: ldm, planeStride: planeStride, channels: channels, images: images, h: h, w: w,
                                     tileRows: tileRows, y: y, channelStride: channelStride)
        }
    }
}

/// How a Winograd pass cuts the batch: images per slice (the slice's V and M near the cache
/// target, and at least one slice per worker), and the V/M plane strides for a full slice.
struct WinogradSlices {
    let tilesPerImage: Int, step: Int, slices: [(Int, Int)], vStride: Int, mStride: Int

    init(n: Int, h: Int, w: Int, cin: Int, cout: Int, workers: Int, tile: WinogradTile = .two) {
        tilesPerImage = h * w / (tile.rawValue * tile.rawValue)
        let bytesPerImage = tile.planes * (cin + cout) * tilesPerImage * 4
        step = max(1, min(Conv2d.sliceBytes / bytesPerImage, (n + workers - 1) / workers))
        slices = Swift.stride(from: 0, to: n, by: step).map { [step] in ($0, min(step, n - $0)) }
        vStride = Winograd.planeStride(rows: cin, ld: step * tilesPerImage)
        mStride = Winograd.planeStride(rows: cout, ld: step * tilesPerImage)
    }

    /// The slices worker t of `workers` takes.
    func of(worker t: Int, _ workers: Int) -> [(Int, Int)] {
        Swift.stride(from: t, to: slices.count, by: workers).map { slices[$0] }
    }
}

extension Winograd {
    /// y[Cout, N, H, W] = conv3x3(x[Cin, N, H, W]) through the transformed filters u, then the
    /// epilogue (with the residual) if given.
    /// A single image's band split may read x and the residual stored by bands (`xBands`,
    /// `residualBands`: RowBands, as `bandSplit` gives them) and write y by bands (`bandOutput`);
    /// returns y's layout (nil: [C, N, H, W]). Other splits take planar tensors only.
    @discardableResult
    static func convolve(_ x: UnsafePointer<Float>, n: Int, h: Int, w: Int, cin: Int, cout: Int, tile: WinogradTile,
                         u: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, epilogue: ChannelAffine?,
                         residual: UnsafePointer<Float>?, workspace: Workspace, xBands: RowBands? = nil,
                         residualBands: RowBands? = nil, bandOutput: Bool = false) -> RowBands? {
        let T = Threads.count
        let E = tile.planes
        let plan = WinogradSlices(n: n, h: h, w: w, cin: cin, cout: cout, workers: T, tile: tile)
        let (plane, tilesPerImage, slices) = (h * w, plan.tilesPerImage, plan.slices)
        let (vStride, mStride) = (plan.vStride, plan.mStride)
        let scratch = tile.scratchCount(h: h, w: w)
        let gemmFlops = 2.0 * Double(E) * Double(cout * cin) * Double(n * tilesPerImage)
        @Sendable func input(_ x: UnsafePointer<Float>, _ channels: Range<Int>, _ images: Int, _ v: UnsafeMutablePointer<Float>,
                             _ ldv: Int, _ s: UnsafeMutablePointer<Float>) {
            tile.transformInput(x, channelStride: n * plane, channels: channels, images: images, h: h, w: w,
                                v: v, ldv: ldv, planeStride: vStride, scratch: s)
        }
        @Sendable func output(_ m: UnsafePointer<Float>, _ ldm: Int, _ channels: Range<Int>, _ images: Int,
                              _ y: UnsafeMutablePointer<Float>) {
            tile.transformOutput(m, ldm: ldm, planeStride: mStride, channels: channels, images: images,
                                 h: h, w: w, y: y, channelStride: n * plane)
        }
        nonisolated(unsafe) let u = u, xp = x, yp = y
        nonisolated(unsafe) let rp = residual
        let ld = n * plane  // distance between channels of x and y
        if slices.count >= T {
            // Each worker takes whole slices through all three phases.
            let bufs = workspace.buffers(E * (vStride + mStride) + scratch, slots: T)
            let total = SliceClaims.with(count: slices.count, workers: T) { claims in
                parallelTimed(T) { t, timer in
                    let v = bufs[t], m = v + E * vStride, s = m + E * mStride
                    claims.forEach(worker: t) { i in
                        let (n0, cnt) = slices[i]
                        let tsl = cnt * tilesPerImage
                        input(xp + n0 * plane, 0..<cin, cnt, v, tsl, s)
                        timer.lap(0)
                        for e in 0..<E {
                            Winograd.gemm(m: cout, n: tsl, k: cin, a: u + e * cout * cin, lda: cin,
                                          b: v + e * vStride, ldb: tsl, c: m + e * mStride, ldc: tsl)
                        }
                        timer.lap(1)
                        if let ep = epilogue, fusedEpilogue, tile == .four || w % 8 == 0 {
                            let r = rp.map { UnsafePointer($0 + n0 * plane) }
                            ep.scale.withUnsafeBufferPointer { sc in
                                ep.shift.withUnsafeBufferPointer { sh in
                                    let (s, f, relu) = (sc.baseAddress, sh.baseAddress, Int32(ep.relu ? 1 : 0))
                                    if tile == .four && h == 4 && w == 4 {
                                        rk_wino4_output_plane4_avx2(m, tsl, mStride, 0, Int32(cout), Int32(cnt),
                                                                    yp + n0 * plane, ld, s, f, r, ld, relu)
                                    } else if tile == .four {
                                        rk_wino4_output_affine_avx2(m, tsl, mStride, 0, Int32(cout), Int32(cnt), Int32(h), Int32(w),
                                                                    0, Int32(h / 4), yp + n0 * plane, ld, s, f, r, ld, relu)
                                    } else {
                                        rk_wino2_output_affine_avx2(m, tsl, mStride, 0, Int32(cout), Int32(cnt), Int32(h), Int32(w),
                                                                    0, Int32(h / 2), yp + n0 * plane, ld, s, f, r, ld, relu)
                                    }
                                }
                            }
                        } else {
                            output(m, tsl, 0..<cout, cnt, yp + n0 * plane)
                            epilogue?.apply(yp + n0 * plane, rows: cout, columns: cnt * plane, ld: ld,
                                            residual: rp.map { $0 + n0 * plane })
                        }
                        timer.lap(2)
                    }
                }
            }
            Profiler.add("conv.winograd.input", seconds: total[0])
            Profiler.add("conv.winograd.gemm", seconds: total[1], flops: gemmFlops)
            Profiler.add(epilogue == nil ? "conv.winograd.output" : "conv.winograd.output+bn", seconds: total[2])
            precondition(xBands == nil && residualBands == nil, "Winograd slices take planar tensors")
            return nil
        }
        // One image on several workers: each takes a band of tile rows through all three phases
        // (convolveBands).
        if usesBands(n: n, h: h, w: w, cin: cin, cout: cout, tile: tile, workers: T) {
            return convolveBands(xp, h: h, w: w, cin: cin, cout: cout, tile: tile, u: u, y: yp, epilogue: epilogue,
                                 residual: rp, workspace: workspace, xBands: xBands, residualBands: residualBands,
                                 bandOutput: bandOutput)
        }
        precondition(xBands == nil && residualBands == nil, "Winograd phases take planar tensors")
        // One image on several workers, too many channels for bands: each worker transforms the
        // whole input into its own V, then takes its output channels through the GEMMs and the
        // output transform (Winograd.channelSplit).
        let blocks = (cout + 15) / 16
        if n == 1 && T > 1 && blocks > 1 && channelSplit && Int(gemmFlops) >= minParallelFlops {
            let parts = min(T, blocks)
            let bufs = workspace.buffers(E * (vStride + mStride) + scratch, slots: parts)
            Profiler.measure(epilogue == nil ? "conv.winograd.channels" : "conv.winograd.channels+bn", flops: gemmFlops) {
                parallelFor(parts) { t in
                    // Output channels in blocks of 16, as splitGemm cuts rows.
                    let r = blockRange(t, of: parts, count: cout, block: 16), (c0, c1) = (r.lowerBound, r.upperBound)
                    if r.isEmpty { return }
                    let v = bufs[t], m = v + E * vStride, s = m + E * mStride
                    input(xp, 0..<cin, 1, v, tilesPerImage, s)
                    for e in 0..<E {
                        Winograd.gemm(m: c1 - c0, n: tilesPerImage, k: cin, a: u + e * cout * cin + c0 * cin, lda: cin,
                                      b: v + e * vStride, ldb: tilesPerImage, c: m + e * mStride + c0 * tilesPerImage,
                                      ldc: tilesPerImage)
                    }
                    output(m, tilesPerImage, c0..<c1, 1, yp)
                    if let ep = epilogue {
                        ep.apply(yp + c0 * ld, rows: c1 - c0, firstRow: c0, columns: plane, ld: ld,
                                 residual: rp.map { $0 + c0 * ld })
                    }
                }
            }
            return nil
        }
        // Fewer slices than workers (small batches): each phase is split across the workers.
        // Every worker writes part of V and M: not slot 0, which worker 0's bands use (in slot 0,
        // width 16's stage-3 phases left the stem's band 0 taking 8.6 us against 6.0 for band 1).
        let buf = workspace.sharedBuffer(E * (vStride + mStride) + T * scratch, for: .winogradPhases)
        nonisolated(unsafe) let v = buf, m = buf + E * vStride, s = m + E * mStride
        for (n0, cnt) in slices {
            let tsl = cnt * tilesPerImage
            // One thread for small calls (see minParallelFlops): each phase is a hand-off.
            let single = 2 * E * cout * cin * tsl < minParallelFlops
            let parts = single ? 1 : min(T, E)
            let work = single ? 0 : Int.max
            Profiler.measure("conv.winograd.input") {
                let p = single ? 1 : min(T, cin)
                parallelFor(p, work: work) { t in
                    let c0 = cin * t / p, c1 = cin * (t + 1) / p
                    input(xp + n0 * plane, c0..<c1, cnt, v, tsl, s + t * scratch)
                }
            }
            Profiler.measure("conv.winograd.gemm", flops: 2.0 * Double(E * cout * cin * tsl)) {
                parallelFor(parts, work: work) { t in
                    for e in Swift.stride(from: t, to: E, by: parts) {
                        Winograd.gemm(m: cout, n: tsl, k: cin, a: u + e * cout * cin, lda: cin,
                                      b: v + e * vStride, ldb: tsl, c: m + e * mStride, ldc: tsl)
                    }
                }
            }
            Profiler.measure(epilogue == nil ? "conv.winograd.output" : "conv.winograd.output+bn") {
                let p = single ? 1 : min(T, cout)
                parallelFor(p, work: work) { t in
                    let c0 = cout * t / p, c1 = cout * (t + 1) / p
                    output(m, tsl, c0..<c1, cnt, yp + n0 * plane)
                    if let ep = epilogue {
                        ep.apply(yp + c0 * ld + n0 * plane, rows: c1 - c0, firstRow: c0, columns: cnt * plane, ld: ld,
                                 residual: rp.map { $0 + c0 * ld + n0 * plane })
                    }
                }
            }
        }
        return nil
    }
}

extension Winograd {
    /// Split a single image's layers of up to this many input channels over the workers by bands
    /// of tile rows, larger ones by phases (ROBUST_WINOGRAD_BANDS_MAX_CHANNELS; 0: never).
    nonisolated(unsafe) static var bandsMaxChannels: Int = {
        if let s = getenvString("ROBUST_WINOGRAD_BANDS_MAX_CHANNELS"), let v = Int(s), v >= 0 { return v }
        return defaultBandsMaxChannels
    }()
    static let defaultBandsMaxChannels = 32

    /// A single image's layers with too many channels for bands: split by output channels, each
    /// worker transforming the whole input into its own V (on), or by phases, V and M shared
    /// (off: three hand-offs a layer, and each phase reads what the other worker wrote).
    /// ROBUST_WINOGRAD_CHANNEL_SPLIT=0; `bench --ab winograd-channels`.
    nonisolated(unsafe) static var channelSplit: Bool = getenvString("ROBUST_WINOGRAD_CHANNEL_SPLIT") != "0"

    /// A single image's band split pays from an eighth of minParallelFlops of GEMM work: a
    /// band also splits the layer's transforms, which outweigh the GEMMs where the input has few
    /// channels (the stem: 3 -> 16 channels, 0.22 MFLOP of GEMMs and about three times that in
    /// transforms). Paired A/B against minParallelFlops (ROBUST_WINOGRAD_SMALL_BANDS=0;
    /// `bench --ab small-bands`, four runs): width-16 latency 0.982-0.983, width 32 0.990-0.993,
    /// width 64 0.998-1.002.
    nonisolated(unsafe) static var smallBands: Bool = getenvString("ROBUST_WINOGRAD_SMALL_BANDS") != "0"
    static var bandsMinFlops: Int { smallBands ? minParallelFlops / 8 : minParallelFlops }

    /// Whether convolve splits this call by bands (one image, several workers, few input channels,
    /// enough work).
    static func usesBands(n: Int, h: Int, w: Int, cin: Int, cout: Int, tile: WinogradTile, workers: Int) -> Bool {
        n == 1 && workers > 1 && cin <= bandsMaxChannels
            && 2 * tile.planes * cout * cin * (h / tile.rawValue) * (w / tile.rawValue) >= bandsMinFlops
    }

    /// The bands a single-image Winograd layer (3x3, stride 1, padding 1) on this thread's workers
    /// would read its input in, if it can read them stored by bands (on AVX2): channels
    /// `cin`. nil when the layer would not split by bands or reads planar input only.
    static func bandSplit(n: Int, h: Int, w: Int, cin: Int, cout: Int) -> RowBands? {
        guard Kernels.avx2, applies(k: 3, stride: 1, pad: 1, n: n, h: h, w: w, cin: cin) else { return nil }
        let tile = self.tile(n: n, h: h, w: w, channels: max(cin, cout)), T = Threads.count
        guard tile == .four || w % 8 == 0, usesBands(n: n, h: h, w: w, cin: cin, cout: cout, tile: tile, workers: T)
        else { return nil }
        return RowBands(channels: cin, h: h, w: w, tileSize: tile.rawValue, parts: min(T, h / tile.rawValue))
    }

    /// A single image's convolution with worker t taking tile rows [th t / T, th (t + 1) / T)
    /// through the input transform, the 36 (or 16) GEMMs over its own tiles and the output transform
    /// (+ epilogue) of its own output rows: one hand-off per layer instead of one per phase,
    /// and V and M never cross cores (split by phases, each worker's GEMMs read V that the
    /// other wrote, and the output transform M likewise). A band reads its neighbours' edge
    /// rows of x, which the previous layer finished before this one started. Each worker has
    /// its own V and M with its band's tiles as the row length, so no cache line is written by
    /// two workers (a 16x16 plane's tile row of V is one line).
    /// x and the residual may be stored by bands (`xBands`, `residualBands`, RowBands with this
    /// split); with `bandOutput` (AVX2 only) y is too, each worker's rows one
    /// contiguous region. Returns y's layout.
    static func convolveBands(_ x: UnsafePointer<Float>, h: Int, w: Int, cin: Int, cout: Int, tile: WinogradTile,
                              u: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, epilogue: ChannelAffine?,
                              residual: UnsafePointer<Float>?, workspace: Workspace, xBands: RowBands? = nil,
                              residualBands: RowBands? = nil, bandOutput: Bool = false) -> RowBands? {
        let size = tile.rawValue
        let th = h / size, tw = w / size, E = tile.planes
        let parts = min(Threads.count, th)
        let maxTiles = (th + parts - 1) / parts * tw
        let vStride = planeStride(rows: cin, ld: maxTiles), mStride = planeStride(rows: cout, ld: maxTiles)
        let scratch = tile.scratchCount(h: h, w: w)
        let bufs = workspace.buffers(E * (vStride + mStride) + scratch, slots: parts)
        let split = RowBands(channels: cin, h: h, w: w, tileSize: size, parts: parts)
        let outSplit = RowBands(channels: cout, h: h, w: w, tileSize: size, parts: parts)
        let rowsKernel = Kernels.avx2 && (tile == .four || w % 8 == 0)  // the AVX2 input transforms
        precondition(xBands == nil || (xBands == split && rowsKernel), "input bands \(String(describing: xBands)), split \(split)")
        precondition(residualBands == nil || (residualBands == outSplit && epilogue != nil),
                     "residual bands \(String(describing: residualBands)), split \(outSplit)")
        let yBands = bandOutput && rowsKernel ? outSplit : nil
        nonisolated(unsafe) let (xp, up, yp, rp) = (UnsafeMutablePointer(mutating: x), u, y, residual.map { UnsafeMutablePointer(mutating: $0) })
        let plane = h * w
        let flops = 2.0 * Double(E * cout * cin * th * tw)
        Profiler.measure(epilogue == nil ? "conv.winograd.bands" : "conv.winograd.bands+bn", flops: flops) {
            parallelFor(parts) { t in
                let ty0 = th * t / parts, ty1 = th * (t + 1) / parts
                let t0 = ty0 * tw, nt = (ty1 - ty0) * tw
                if nt == 0 { return }
                let v = bufs[t], m = v + E * vStride, s = m + E * mStride
                let r0 = size * ty0, nr = size * (ty1 - ty0)
                // The kernels index V and M by the tile's number in the image: shift the band's
                // first tile to column 0 of this worker's rows of length nt.
                if let xb = xBands {
                    let (base, cs) = xb.band(t, xp)
                    let above = t > 0 ? xb.row(r0 - 1, xp) : nil
                    let below = t + 1 < parts ? xb.row(r0 + nr, xp) : nil
                    let rows = tile == .four ? rk_wino4_input_rows_avx2 : rk_wino2_input_rows_avx2
                    rows(base, cs, above?.0, above?.1 ?? 0, below?.0, below?.1 ?? 0, 0, Int32(cin),
                         Int32(h), Int32(w), Int32(ty0), Int32(ty1), v - t0, nt, vStride, s)
                } else {
                    tile.transformInput(xp, channelStride: plane, channels: 0..<cin, images: 1, h: h, w: w,
                                        tileRows: ty0..<ty1, v: v - t0, ldv: nt, planeStride: vStride, scratch: s)
                }
                for e in 0..<E {
                    gemm(m: cout, n: nt, k: cin, a: up + e * cout * cin, lda: cin,
                         b: v + e * vStride, ldb: nt, c: m + e * mStride, ldc: nt)
                }
                // This band's rows of y: channel 0's first row and the channel stride.
                let (yb, ycs) = yBands.map { $0.band(t, yp) } ?? (yp + r0 * w, plane)
                tile.transformOutput(m - t0, ldm: nt, planeStride: mStride, channels: 0..<cout, images: 1, h: h, w: w,
                                     tileRows: ty0..<ty1, y: yb - r0 * w, channelStride: ycs)
                if let ep = epilogue {
                    let res = rp.map { r in residualBands.map { $0.band(t, r) } ?? (r + r0 * w, plane) }
                    ep.apply(yb, rows: cout, columns: nr * w, ld: ycs, residual: res.map { UnsafePointer($0.0) },
                             residualLd: res?.1)
                }
            }
        }
        return yBands
    }

    /// Below this many input channels the Winograd domain's GEMMs (M[e] = U[e] V[e]) run on
    /// CKernels' small-GEMM kernel where the CPU has AVX2: a general sgemm's packing costs as much
    /// as the multiplies there. Measured single-threaded on this Zen 3 (GFLOP/s, OpenBLAS / ours):
    /// 16x448x16 27 / 49, 32x448x32 42 / 54, 64x512x64 54 / 56, 128x512x128 61 / 60.
    nonisolated(unsafe) static var smallGemmMaxK: Int = {
        if let s = getenvString("ROBUST_SMALL_GEMM_MAX_K"), let v = Int(s), v >= 0 { return v }
        return 64
    }()

    /// Row-major C[m, n] = A[m, k] B[k, n] (overwritten), as BLAS.gemm with alpha 1, beta 0.
    @inline(__always)
    static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     c: UnsafeMutablePointer<Float>, ldc: Int) {
        if Kernels.avx2 && k <= smallGemmMaxK {
            rk_sgemm_small_avx2(m, n, k, a, lda, b, ldb, c, ldc)
        } else {
            BLAS.gemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
        }
    }
}

// MARK: - Weight gradient

extension Winograd {
    /// Up to this many output and input channels the weight gradient's GEMMs (dU[e] = dM[e]
    /// V[e]^T: few rows, K = the slice's tiles) run on CKernels' A B^T kernel where the CPU has
    /// AVX2; OpenBLAS packs both operands first, which costs as much as the multiplies there.
    /// Measured single-threaded on this Zen 3 (GFLOP/s, OpenBLAS / ours), two runs:
    /// 12x12x1280 33 / 89 and 23 / 60, 24x24x640 56 / 88, 48x48x336 71 / 85,
    /// 64x64x256 76 / 79, 96x96x168 82 / 74, 128x128x128 80 / 68.
    nonisolated(unsafe) static var smallGradMaxChannels: Int = {
        if let s = getenvString("ROBUST_SMALL_GRAD_MAX_CHANNELS"), let v = Int(s), v >= 0 { return v }
        return 64
    }()

    /// Row-major C[m, n] = A[m, k] B[n, k]^T, added to C when `accumulate`, else overwriting it.
    @inline(__always)
    static func gemmABt(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                        accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if Kernels.avx2 && m <= smallGradMaxChannels && n <= smallGradMaxChannels {
            rk_sgemm_abt_avx2(m, n, k, a, lda, b, ldb, c, ldc, accumulate ? 1 : 0)
        } else {
            BLAS.gemm(transB: true, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: accumulate ? 1 : 0,
                      c: c, ldc: ldc)
        }
    }

    /// dM[e][co][t] = (A dY A^T)[e] for channels `channels` of the output gradient: the adjoint
    /// of the output transform. dy points at the slice's first image of channel 0.
    static func transformOutputGrad(_ dy: UnsafePointer<Float>, channelStride: Int, channels: Range<Int>, images: Int,
                                    h: Int, w: Int, dm: UnsafeMutablePointer<Float>, ldm: Int, planeStride ps: Int,
                                    scratch: UnsafeMutablePointer<Float>) {
        if Kernels.avx2 && w % 8 == 0 {
            rk_wino2_output_grad_avx2(dy, channelStride, Int32(channels.lowerBound), Int32(channels.upperBound), Int32(images),
                                      Int32(h), Int32(w), dm, ldm, ps)
            return
        }
        let tw = w / 2, th = h / 2, tilesPerImage = th * tw
        // Even and odd columns of the tile row's two gradient rows: contiguous SIMD loads.
        let e0 = scratch, o0 = scratch + tw, e1 = scratch + 2 * tw, o1 = scratch + 3 * tw
        for co in channels {
            for n in 0..<images {
                let plane = dy + co * channelStride + n * h * w
                for ty in 0..<th {
                    let r0 = plane + 2 * ty * w, r1 = r0 + w
                    for k in 0..<tw {
                        e0[k] = r0[2 * k]; o0[k] = r0[2 * k + 1]
                        e1[k] = r1[2 * k]; o1[k] = r1[2 * k + 1]
                    }
                    let dst = dm + co * ldm + n * tilesPerImage + ty * tw
                    var tx = 0
                    while tx + 8 <= tw { gradTiles(SIMD8<Float>.self, e0, o0, e1, o1, tx, dst, ps); tx += 8 }
                    if tx + 4 <= tw { gradTiles(SIMD4<Float>.self, e0, o0, e1, o1, tx, dst, ps); tx += 4 }
                    if tx + 2 <= tw { gradTiles(SIMD2<Float>.self, e0, o0, e1, o1, tx, dst, ps); tx += 2 }
                }
            }
        }
    }

    /// A dY A^T for tiles tx..<tx+lanes, A = [[1,0],[1,1],[1,-1],[0,-1]].
    @inline(__always)
    static func gradTiles<V: SIMD>(_: V.Type, _ e0: UnsafePointer<Float>, _ o0: UnsafePointer<Float>,
                                   _ e1: UnsafePointer<Float>, _ o1: UnsafePointer<Float>, _ tx: Int,
                                   _ dst: UnsafeMutablePointer<Float>, _ ps: Int) where V.Scalar == Float {
        let y00: V = load(e0 + tx), y01: V = load(o0 + tx), y10: V = load(e1 + tx), y11: V = load(o1 + tx)
        // rows i: (y0, y0 + y1, y0 - y1, -y1), each a pair (p, q) = (column 0, column 1);
        // then columns: (p, p + q, p - q, -q)
        let d = dst + tx
        @inline(__always) func row(_ i: Int, _ p: V, _ q: V) {
            store(p, d + (4 * i) * ps); store(p + q, d + (4 * i + 1) * ps)
            store(p - q, d + (4 * i + 2) * ps); store(-q, d + (4 * i + 3) * ps)
        }
        row(0, y00, y01)
        row(1, y00 + y10, y01 + y11)
        row(2, y00 - y10, y01 - y11)
        row(3, -y10, -y11)
    }

    /// dW[co][ci] = G^T dU[.][co][ci] G: the adjoint of the filter transform, from dU[16][Cout][Cin].
    static func filterGradient(_ du: UnsafePointer<Float>, cout: Int, cin: Int, into dw: UnsafeMutablePointer<Float>) {
        let plane = cout * cin
        for f in 0..<plane {
            @inline(__always) func u(_ i: Int, _ j: Int) -> Float { du[(4 * i + j) * plane + f] }
            // T = G^T dU (3x4), G^T = [[1, 1/2, 1/2, 0], [0, 1/2, -1/2, 0], [0, 1/2, 1/2, 1]]
            var t = (SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>())
            for j in 0..<4 {
                let a = u(0, j), b = u(1, j), c = u(2, j), d = u(3, j)
                t.0[j] = a + 0.5 * (b + c); t.1[j] = 0.5 * (b - c); t.2[j] = 0.5 * (b + c) + d
            }
            // dW = T G (3x3)
            let g = dw + 9 * f
            @inline(__always) func row(_ a: Int, _ r: SIMD4<Float>) {
                g[3 * a] = r[0] + 0.5 * (r[1] + r[2])
                g[3 * a + 1] = 0.5 * (r[1] - r[2])
                g[3 * a + 2] = 0.5 * (r[1] + r[2]) + r[3]
            }
            row(0, t.0); row(1, t.1); row(2, t.2)
        }
    }

    /// The tile of the weight gradient's pass: F(4x4, 3x3) where the forward pass takes it and
    /// the CPU has AVX2 (the 4x4 output-gradient transform exists only as an AVX2 kernel), else
    /// F(2x2, 3x3). ROBUST_WINOGRAD_GRAD_TILE=2 keeps 2x2, for comparison.
    /// 4x4 tiles need 36 GEMM planes per 16 pixels where 2x2 need 16 per 4: 44% fewer
    /// multiplies, and V and dM are 2.25x the input and the output gradient instead of 4x.
    /// The larger constants cost accuracy: WinogradTests bounds the weight gradient's error
    /// against a double-precision reference for both tiles.
    nonisolated(unsafe) static var largeGradTiles: Bool = getenvString("ROBUST_WINOGRAD_GRAD_TILE") != "2"

    static func gradTile(n: Int, h: Int, w: Int, channels: Int) -> WinogradTile {
        largeGradTiles && Kernels.avx2 ? tile(n: n, h: h, w: w, channels: channels) : .two
    }

    /// dW of a 3x3 stride-1 pad-1 convolution: dU[e] = sum over tiles of dM[e] V[e]^T, then
    /// dW = G^T dU G. The slices sum into one dU per group of slices (SliceGroups: each
    /// `tile.planes` * cout * cin floats), claimed by `workers` workers as they become free.
    static func weightGradient(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, n: Int, h: Int, w: Int,
                               cin: Int, cout: Int, tile: WinogradTile = .two, dw: UnsafeMutablePointer<Float>,
                               workers: Int = Threads.count, workspace: Workspace) {
        precondition(tile == .two || Kernels.avx2, "4x4 weight-gradient tiles need the AVX2 kernels")
        let T = workers
        let E = tile.planes
        let plan = WinogradSlices(n: n, h: h, w: w, cin: cin, cout: cout, workers: T, tile: tile)
        let (plane, tilesPerImage) = (h * w, plan.tilesPerImage)
        let (vStride, mStride) = (plan.vStride, plan.mStride)
        let count = E * cout * cin
        let groups = SliceGroups(slices: plan.slices.count, workers: T, partialCount: count)
        let scratch = max(tile.scratchCount(h: h, w: w), 4 * (w / 2))
        let bufs = workspace.buffers(E * (vStride + mStride) + scratch, slots: min(T, groups.groups))
        let du = workspace.gradPartials(count, groups: groups.groups)
        let ld = n * plane
        nonisolated(unsafe) let xp = x, dyp = dy
        let total = groups.run(workers: T) { t, group, timer in
            let v = bufs[t], m = v + E * vStride, s = m + E * mStride
            for (i, slice) in groups.slices(of: group).enumerated() {
                let (n0, cnt) = plan.slices[slice]
                let tsl = cnt * tilesPerImage
                tile.transformInput(xp + n0 * plane, channelStride: ld, channels: 0..<cin, images: cnt, h: h, w: w,
                                    v: v, ldv: tsl, planeStride: vStride, scratch: s)
                if tile == .four && h == 4 && w == 4 {
                    rk_wino4_output_grad_plane4_avx2(dyp + n0 * plane, ld, 0, Int32(cout), Int32(cnt), m, tsl, mStride)
                } else if tile == .four {
                    rk_wino4_output_grad_avx2(dyp + n0 * plane, ld, 0, Int32(cout), Int32(cnt), Int32(h), Int32(w),
                                              m, tsl, mStride)
                } else {
                    transformOutputGrad(dyp + n0 * plane, channelStride: ld, channels: 0..<cout, images: cnt, h: h, w: w,
                                        dm: m, ldm: tsl, planeStride: mStride, scratch: s)
                }
                timer.lap(0)
                for e in 0..<E {
                    gemmABt(m: cout, n: cin, k: tsl, a: m + e * mStride, lda: tsl, b: v + e * vStride, ldb: tsl,
                            accumulate: i > 0, c: du[group] + e * cout * cin, ldc: cin)
                }
                timer.lap(1)
            }
        }
        Profiler.add("conv.winograd.grad_transforms", seconds: total[0])
        Profiler.add("conv.winograd.weight_grad", seconds: total[1],
                     flops: 2.0 * Double(E * cout * cin) * Double(n * tilesPerImage))
        Profiler.measure("conv.winograd.filter_grad") {
            SliceGroups.reduce(du, count: count)
            let sum = du[0]
            if avx2Filters {
                rk_wino_filter_grad_avx2(sum, cout, cin, Int32(tile.rawValue), 0, cout * cin, dw)
            } else if tile == .four {
                Winograd4.filterGradient(sum, cout: cout, cin: cin, into: dw)
            } else {
                filterGradient(sum, cout: cout, cin: cin, into: dw)
            }
        }
    }
}

extension Conv2d {
    /// Backward of a 3x3 stride-1 convolution entirely in the Winograd domain: the weight
    /// gradient from the transformed input and output gradient, and the input gradient as a
    /// convolution of dy with the flipped filters. No im2col at all.
    func backwardWinograd(_ dy: Tensor, _ x: Tensor, _ g: ConvGeometry, needInputGrad: Bool) -> Tensor {
        let (cin, cout) = (self.cin, self.cout)
        let gradTile = Winograd.gradTile(n: g.n, h: g.h, w: g.w, channels: max(cin, cout))
        Winograd.weightGradient(x: x.data, dy: dy.data, n: g.n, h: g.h, w: g.w, cin: cin, cout: cout, tile: gradTile,
                                dw: weight.grad!.data, workspace: workspace)
        guard needInputGrad else { return inputGrad }
        let tile = Winograd.tile(n: g.n, h: g.h, w: g.w, channels: max(cin, cout))
        winogradFlipped.reshape([tile.planes, cin, cout])
        Profiler.measure("conv.winograd.filters") {
            if Winograd.avx2Filters {
                Winograd.transformWeightsAVX2(weight.value.data, cout: cout, cin: cin, tile: tile, flipped: true,
                                              into: winogradFlipped.data)
            } else {
                Winograd.transformWeights(flippedFilters(), cout: cin, cin: cout, tile: tile, into: winogradFlipped.data)
            }
        }
        // (profiled inside convolve, under the conv.winograd.* entries of the forward pass)
        Winograd.convolve(dy.data, n: g.n, h: g.h, w: g.w, cin: cout, cout: cin, tile: tile, u: winogradFlipped.data,
                          y: inputGrad.data, epilogue: nil, residual: nil, workspace: workspace)
        return inputGrad
    }
}
