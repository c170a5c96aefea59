import XCTest
@testable import RobustCore
import CKernels

/// Inference through Winograd F(2x2,3x3) and F(4x4,3x3) against the direct convolution and
/// the im2col path. Tolerance for both (largest error over largest output): 1e-5; the errors
/// measured here stay below 1.5e-6.
final class WinogradTests: XCTestCase {
    /// Both tile sizes: the 4x4 one takes the shapes it can (width a multiple of 16); with the
    /// portable Swift transforms and, where the CPU has them, the AVX2 ones.
    func testMatchesDirectConvolutionWithEpilogue() {
        let saved = (Winograd.largeTiles, Kernels.avx2)
        defer { Winograd.largeTiles = saved.0; Kernels.avx2 = saved.1 }
        for avx2 in Kernels.cpuHasAVX2 ? [false, true] : [false] {
            Kernels.avx2 = avx2
            for large in [false, true] {
                Winograd.largeTiles = large
                matchesDirectConvolution(tolerance: 1e-5)
            }
        }
    }

    /// The AVX2 transforms (CKernels) against the portable Swift ones, value by value, on every
    /// tile-row layout the lanes take: 4 tiles a row (the halves in two rows), 8, 12 (a group
    /// that spans a row end) and a lone half (4 tiles an image); a channel range with channels
    /// on both sides of it, padded row and plane strides; all tile rows and a band of them (a
    /// single image's layer split by rows: the band must read its neighbours' edge rows and
    /// write only its own tiles). Only FMA's rounding may differ.
    func testAVX2TransformsMatchPortableCode() throws {
        guard Kernels.cpuHasAVX2 else { throw XCTSkip("this CPU has no AVX2/FMA") }
        let saved = Kernels.avx2
        defer { Kernels.avx2 = saved }
        var rng = RNG(seed: 21)
        let cases: [(WinogradTile, Int, Int, Int, Int)] = [
            (.four, 16, 16, 3, 2), (.four, 8, 32, 2, 3), (.four, 8, 48, 4, 1), (.four, 4, 16, 3, 3), (.four, 32, 32, 2, 2),
            (.two, 8, 8, 3, 2), (.two, 2, 8, 2, 3), (.two, 4, 16, 2, 2), (.two, 6, 24, 3, 1), (.two, 32, 32, 2, 2)]
        for (tile, h, w, c, images) in cases {
          let th = h / tile.rawValue
          for band in [nil, th / 3..<max(th / 3 + 1, th - th / 3), th - 1..<th] as [Range<Int>?] {
            let r = tile.rawValue
            let tiles = images * (h / r) * (w / r), ld = tiles + 3, ps = (c + 1) * ld + 5
            let channelStride = images * h * w + 7
            let x = (0..<(c + 1) * channelStride).map { _ in Float(rng.normal()) }
            let channels = 1..<c  // channels 0 and c are outside the range: they must stay untouched
            var outputs: [[Float]] = []
            for avx2 in [false, true] {
                Kernels.avx2 = avx2
                var v = [Float](repeating: -1, count: tile.planes * ps)
                let scratchCount = tile == .four ? Winograd4.scratchCount(h: h, w: w) : max(Winograd.scratchCount(h: h, w: w), 4 * w)
                var scratch = [Float](repeating: .nan, count: scratchCount)
                var y = [Float](repeating: -1, count: (c + 1) * channelStride)
                var dm = [Float](repeating: -1, count: tile.planes * ps)
                x.withUnsafeBufferPointer { xp in
                    let x = xp.baseAddress!
                    if tile == .four {
                        Winograd4.transformInput(x, channelStride: channelStride, channels: channels, images: images,
                                                 h: h, w: w, tileRows: band, v: &v, ldv: ld, planeStride: ps, scratch: &scratch)
                    } else {
                        Winograd.transformInput(x, channelStride: channelStride, channels: channels, images: images,
                                                h: h, w: w, tileRows: band, v: &v, ldv: ld, planeStride: ps, scratch: &scratch)
                        // x read as an output gradient
                        Winograd.transformOutputGrad(x, channelStride: channelStride, channels: channels, images: images,
                                                     h: h, w: w, dm: &dm, ldm: ld, planeStride: ps, scratch: &scratch)
                    }
                }
                // Back through the output transform (V read as M: any values serve).
                v.withUnsafeBufferPointer { vp in
                    if tile == .four {
                        Winograd4.transformOutput(vp.baseAddress!, ldm: ld, planeStride: ps, channels: channels, images: images,
                                                  h: h, w: w, tileRows: band, y: &y, channelStride: channelStride)
                    } else {
                        Winograd.transformOutput(vp.baseAddress!, ldm: ld, planeStride: ps, channels: channels, images: images,
                                                 h: h, w: w, tileRows: band, y: &y, channelStride: channelStride)
                    }
                }
                outputs.append(v + y + dm)
            }
            let what = "\(tile) \(h)x\(w), \(images) images, tile rows \(band.map { "\($0)" } ?? "all")"
            XCTAssertLessThan(relativeError(outputs[1], outputs[0]), 1e-6, what)
            // Untouched memory stays untouched: the -1 sentinels, element by element.
            XCTAssertTrue(zip(outputs[0], outputs[1]).allSatisfy { ($0 == -1) == ($1 == -1) }, what)
            if let band {  // a band writes its own tiles of V and rows of y, and nothing else
                // per channel in the range: V's band tiles, y's band rows, and (2x2) all of dM
                let perChannel = tile.planes * images * band.count * (w / r) + images * band.count * r * w
                    + (tile == .two ? tile.planes * images * th * (w / r) : 0)
                XCTAssertEqual(outputs[1].filter { $0 != -1 }.count, (c - 1) * perChannel, what)
            }
          }
        }
    }

    func matchesDirectConvolution(tolerance: Float) {
        let saved = (Conv2d.sliceBytes, Threads.count, Winograd.enabled, Winograd.minTiles, minParallelFlops,
                     Winograd.minTilesSmallGemm)
        defer {
            Conv2d.sliceBytes = saved.0; Threads.set(saved.1); Winograd.enabled = saved.2; Winograd.minTiles = saved.3
            minParallelFlops = saved.4; Winograd.minTilesSmallGemm = saved.5
        }
        Winograd.minTiles = 0  // the small shapes here must take the Winograd path
        Winograd.minTilesSmallGemm = 0
        minParallelFlops = 0   // and the few-slice mode must split its phases (or a single image's tile rows) across workers
        var rng = RNG(seed: 11)
        // planes of every tile-row width the SIMD code has a path for (2x2 tiles: 2, 4, 8 and
        // 8+4+2 a row; 4x4 tiles: 4, 8 and 12 a row)
        // Single images (n = 1) split by bands of tile rows, or by phases for more than
        // bandsMaxChannels input channels: uneven bands (3 threads, 3 or 7 tile rows) and the
        // portable band code (a width that is not a multiple of 8).
        for (h, w, cin, cout, n) in [(4, 4, 3, 5, 3), (8, 8, 7, 4, 2), (2, 16, 4, 6, 5), (6, 28, 5, 3, 2), (32, 32, 2, 3, 1),
                                     (4, 16, 3, 5, 3), (12, 32, 6, 4, 2), (8, 48, 17, 9, 2), (16, 16, 33, 20, 4),
                                     (16, 16, 5, 7, 1), (12, 32, 6, 4, 1), (14, 8, 7, 9, 1), (6, 28, 5, 3, 1), (16, 16, 40, 8, 1),
                                     (4, 4, 6, 5, 10)] {
            XCTAssertTrue(Winograd.applies(k: 3, stride: 1, pad: 1, h: h, w: w))
            let conv = Conv2d("c", cin: cin, cout: cout, k: 3, stride: 1, pad: 1, workspace: Workspace())
            for i in 0..<conv.weight.value.count { conv.weight.value[i] = rng.normal() }
            conv.weight.markModified()
            let x = Tensor([cin, n, h, w]), res = Tensor([cout, n, h, w])
            for i in 0..<x.count { x[i] = rng.normal() }
            for i in 0..<res.count { res[i] = rng.normal() }
            var ep = ChannelAffine(scale: (0..<cout).map { _ in rng.normal() }, shift: (0..<cout).map { _ in rng.normal() }, relu: true)
            var ref = naiveWithEpilogue(x, conv, n: n, h: h, w: w, ep, res)
            for (slice, threads) in [(1 << 30, 1), (1, 2), (1 << 30, 2), (4096, 3), (1 << 30, 3)] {
                Conv2d.sliceBytes = slice
                Threads.set(threads)
                Winograd.enabled = true
                if n == 1 && threads > 1 {  // by phases as well as by bands
                    let savedBands = Winograd.bandsMaxChannels
                    Winograd.bandsMaxChannels = 0
                    let y = conv.forward(x, mode: .eval, epilogue: ep, residual: res).array
                    Winograd.bandsMaxChannels = savedBands
                    XCTAssertLessThan(relativeError(y, ref), tolerance, "by phases: \(h)x\(w) cin \(cin) threads \(threads)")
                }
                let y = conv.forward(x, mode: .eval, epilogue: ep, residual: res).array
                XCTAssertLessThan(relativeError(y, ref), tolerance, "\(h)x\(w) cin \(cin) slice \(slice) threads \(threads)")
                Winograd.enabled = false
                let z = conv.forward(x, mode: .eval, epilogue: ep, residual: res).array
                XCTAssertLessThan(relativeError(y, z), tolerance)
            }
            // New weights must not be served from the cached transformed filters.
            for i in 0..<conv.weight.value.count { conv.weight.value[i] = rng.normal() }
            conv.weight.markModified()
            ep.relu = false
            ref = naiveWithEpilogue(x, conv, n: n, h: h, w: w, ep, res)
            Winograd.enabled = true
            XCTAssertLessThan(relativeError(conv.forward(x, mode: .eval, epilogue: ep, residual: res).array, ref), tolerance)
        }
    }

    /// Training: the forward pass, the input gradient and the weight gradient go through
    /// Winograd (the weight gradient always with 2x2 tiles); all must agree with the im2col path.
    func testTrainingForwardAndInputGradientMatchIm2col() {
        let saved = (Threads.count, Winograd.inTraining, Winograd.minTiles, Winograd.largeTiles, Kernels.avx2,
                     Winograd.minTilesSmallGemm, Conv2d.sliceBytes, Winograd.smallGradMaxChannels)
        defer {
            Threads.set(saved.0); Winograd.inTraining = saved.1; Winograd.minTiles = saved.2; Winograd.largeTiles = saved.3
            Kernels.avx2 = saved.4; Winograd.minTilesSmallGemm = saved.5; Conv2d.sliceBytes = saved.6
            Winograd.smallGradMaxChannels = saved.7
        }
        Winograd.minTiles = 0; Winograd.minTilesSmallGemm = 0
        var rng = RNG(seed: 5)
        // (8, 8, 6, 5, 5): one image per slice (sliceBytes 1), so each worker's weight-gradient
        // GEMMs accumulate over several slices, with the A B^T kernel (avx2) and with OpenBLAS.
        // 6x12 images have 18 tiles each: the A B^T kernel's K (the slice's tiles) is not a
        // multiple of 8, so its masked tail runs, overwriting and accumulating. The last case
        // keeps AVX2 on but sends the weight gradient to OpenBLAS (smallGrad false).
        for (h, w, cin, cout, n, threads, large, avx2, oneImageSlices, smallGrad) in
            [(8, 8, 3, 5, 4, 2, false, false, false, true), (4, 12, 6, 2, 1, 2, false, false, false, true),
             (16, 16, 4, 4, 3, 1, false, false, false, true), (16, 16, 4, 4, 3, 1, true, false, false, true),
             (8, 32, 5, 7, 2, 2, true, false, false, true), (16, 16, 4, 4, 3, 2, true, true, false, true),
             (8, 32, 5, 7, 2, 2, true, true, false, true), (8, 8, 3, 5, 4, 2, false, true, false, true),
             (8, 8, 6, 5, 5, 2, false, true, true, true), (8, 8, 6, 5, 5, 2, false, false, true, true),
             (6, 12, 5, 7, 3, 2, false, true, false, true), (6, 12, 5, 7, 3, 2, false, true, true, true),
             (8, 8, 6, 5, 5, 2, false, true, true, false), (4, 16, 3, 5, 3, 2, true, true, false, true),
             (8, 48, 4, 6, 2, 2, true, true, true, true), (8, 48, 4, 6, 2, 1, true, true, false, false),
             (4, 4, 6, 5, 9, 2, true, true, false, true), (4, 4, 3, 5, 16, 2, true, true, true, true),
             (4, 4, 7, 9, 8, 1, true, true, false, false)] {
            Conv2d.sliceBytes = oneImageSlices ? 1 : saved.6
            Winograd.smallGradMaxChannels = smallGrad ? saved.7 : 0
            Kernels.avx2 = avx2 && Kernels.cpuHasAVX2
            Winograd.largeTiles = large
            XCTAssertEqual(Winograd.tile(n: n, h: h, w: w), large && (w % 16 == 0 || Kernels.avx2) ? .four : .two)
            Threads.set(threads)
            let conv = Conv2d("c", cin: cin, cout: cout, k: 3, stride: 1, pad: 1, workspace: Workspace())
            for i in 0..<conv.weight.value.count { conv.weight.value[i] = rng.normal() }
            let x = Tensor([cin, n, h, w]), dy = Tensor([cout, n, h, w])
            for i in 0..<x.count { x[i] = rng.normal() }
            for i in 0..<dy.count { dy[i] = rng.normal() }
            var results: [[Float]] = []
            for viaWinograd in [true, false] {
                Winograd.inTraining = viaWinograd
                let y = conv.forward(x, mode: .train).array
                let dx = conv.backward(dy).array
                results.append(y + dx + conv.weight.grad!.array)
            }
            XCTAssertLessThan(relativeError(results[0], results[1]), 1e-5, "\(h)x\(w) cin \(cin) cout \(cout) n \(n)")
        }
    }

    /// Evaluation's epilogue fused into the AVX2 output transforms gives the same outputs, bit
    /// for bit, as the transform followed by ChannelAffine.apply: with and without the residual
    /// and the ReLU; 4x4 tiles on 32x32, 16x16 (a tile row's four tiles the two halves of a
    /// vector) and 4x16 planes (a lone half), 2x2 tiles on 8x8 and 2x8 planes (a lone half),
    /// one and several images a slice.
    func testFusedEpilogueIsBitIdentical() throws {
        guard Kernels.cpuHasAVX2 else { throw XCTSkip("this CPU has no AVX2/FMA") }
        let saved = (Kernels.avx2, Winograd.fusedOutputEpilogue, Threads.count, Conv2d.sliceBytes, Winograd.minTiles)
        defer {
            Kernels.avx2 = saved.0; Winograd.fusedOutputEpilogue = saved.1; Threads.set(saved.2)
            Conv2d.sliceBytes = saved.3; Winograd.minTiles = saved.4
        }
        Kernels.avx2 = true
        Winograd.minTiles = 0
        var rng = RNG(seed: 41)
        for (h, w, cin, cout, n, slice, tile) in [(32, 32, 3, 5, 2, 1, WinogradTile.four), (16, 16, 6, 4, 4, 1 << 30, .four),
                                                  (4, 16, 3, 7, 3, 1, .four), (8, 8, 5, 6, 4, 1 << 30, .two), (2, 8, 3, 5, 3, 1, .two),
                                                  (4, 4, 5, 6, 11, 1 << 30, .four), (4, 4, 3, 4, 8, 1, .four)] {
            Threads.set(2)
            Conv2d.sliceBytes = slice
            XCTAssertEqual(Winograd.tile(n: n, h: h, w: w), tile)
            let conv = Conv2d("c", cin: cin, cout: cout, k: 3, stride: 1, pad: 1, workspace: Workspace())
            for i in 0..<conv.weight.value.count { conv.weight.value[i] = rng.normal() }
            conv.weight.markModified()
            let x = Tensor([cin, n, h, w]), res = Tensor([cout, n, h, w])
            for i in 0..<x.count { x[i] = rng.normal() }
            for i in 0..<res.count { res[i] = rng.normal() }
            for (relu, residual) in [(true, true), (false, true), (true, false), (false, false)] {
                let ep = ChannelAffine(scale: (0..<cout).map { _ in rng.normal() }, shift: (0..<cout).map { _ in rng.normal() },
                                       relu: relu)
                var outputs: [[Float]] = []
                for fused in [false, true] {
                    Winograd.fusedOutputEpilogue = fused
                    outputs.append(conv.forward(x, mode: .eval, epilogue: ep, residual: residual ? res : nil).array)
                }
                XCTAssertEqual(outputs[0], outputs[1], "\(h)x\(w) n \(n) relu \(relu) residual \(residual)")
                XCTAssertTrue(outputs[1].contains { $0 != 0 })
            }
        }
    }

    /// CKernels' filter transforms (eight filters a vector) against the portable Swift ones:
    /// both tiles, the forward filters and the flipped ones (which the portable path builds by
    /// copying `Conv2d.flippedFilters`), and the weight gradient's adjoint, on shapes whose
    /// filter count is not a multiple of 8 (the tail) and whose cout is not either (flipped
    /// filters wrap from one input channel to the next inside a vector). Only the 4x4 tiles'
    /// reciprocal multiplications (in place of divisions) and FMA may differ: 1e-6.
    func testAVX2FilterTransformsMatchPortableCode() throws {
        guard Kernels.cpuHasAVX2 else { throw XCTSkip("this CPU has no AVX2/FMA") }
        let saved = (Kernels.avx2, Threads.count)
        defer { Kernels.avx2 = saved.0; Threads.set(saved.1) }
        var rng = RNG(seed: 33)
        for (cout, cin, threads) in [(5, 3, 1), (16, 16, 2), (7, 9, 2), (64, 80, 2), (1, 1, 1)] {
            Threads.set(threads)
            let conv = Conv2d("c", cin: cin, cout: cout, k: 3, stride: 1, pad: 1, workspace: Workspace())
            for i in 0..<conv.weight.value.count { conv.weight.value[i] = rng.normal() }
            let w = conv.weight.value.data
            for tile in [WinogradTile.two, .four] {
                let n = tile.planes * cout * cin
                var results: [[Float]] = []
                for avx2 in [false, true] {
                    Kernels.avx2 = avx2
                    let u = Tensor([n]), uf = Tensor([n]), dw = Tensor([cout * cin * 9])
                    Winograd.transformWeights(w, cout: cout, cin: cin, tile: tile, into: u.data)
                    if avx2 {
                        Winograd.transformWeightsAVX2(w, cout: cout, cin: cin, tile: tile, flipped: true, into: uf.data)
                    } else {
                        Winograd.transformWeights(conv.flippedFilters(), cout: cin, cin: cout, tile: tile, into: uf.data)
                    }
                    // The adjoint, with U read as dU (any values serve).
                    if avx2 {
                        rk_wino_filter_grad_avx2(u.data, cout, cin, Int32(tile.rawValue), 0, cout * cin, dw.data)
                    } else if tile == .four {
                        Winograd4.filterGradient(u.data, cout: cout, cin: cin, into: dw.data)
                    } else {
                        Winograd.filterGradient(u.data, cout: cout, cin: cin, into: dw.data)
                    }
                    results.append(u.array + uf.array + dw.array)
                }
                XCTAssertLessThan(relativeError(results[1], results[0]), 1e-6, "\(tile) cout \(cout) cin \(cin)")
            }
        }
    }

    /// The weight gradient by F(2x2) and F(4x4) tiles against a double-precision reference,
    /// on a width-16 network's 32x32 layer shape (16 channels, 4 images: 4,096 terms in each
    /// sum), the measure is the largest error over the largest gradient. Measured here: 2x2
    /// 3.4e-7 to 4.1e-7, 4x4 2.2e-6 to 2.4e-6 (its constants, up to 8 in A and 5 in B, make
    /// larger partial sums that G's 1/6 and 1/24 then cancel); bounds 1e-6 and 5e-6. A wrong
    /// transform (a sign, a constant, a plane) gives errors of order 1.
    func testWeightGradientMatchesDoublePrecision() {
        let saved = Kernels.avx2
        defer { Kernels.avx2 = saved }
        let (n, h, w, cin, cout) = (4, 32, 32, 16, 16)
        var rng = RNG(seed: 9)
        let x = (0..<cin * n * h * w).map { _ in Float(rng.normal()) }
        let dy = (0..<cout * n * h * w).map { _ in Float(rng.normal()) }
        var ref = [Double](repeating: 0, count: cout * cin * 9)
        for co in 0..<cout { for ci in 0..<cin { for ky in 0..<3 { for kx in 0..<3 {
            var acc = 0.0
            for b in 0..<n { for yy in 0..<h {
                let sy = yy + ky - 1
                if sy < 0 || sy >= h { continue }
                let drow = ((co * n + b) * h + yy) * w, xrow = ((ci * n + b) * h + sy) * w
                for xx in 0..<w {
                    let sx = xx + kx - 1
                    if sx < 0 || sx >= w { continue }
                    acc += Double(dy[drow + xx]) * Double(x[xrow + sx])
                }
            } }
            ref[((co * cin + ci) * 3 + ky) * 3 + kx] = acc
        } } } }
        let refF = ref.map { Float($0) }
        for tile in Kernels.cpuHasAVX2 ? [WinogradTile.two, .four] : [.two] {
            Kernels.avx2 = Kernels.cpuHasAVX2
            for threads in [1, 2] {
                let dw = Tensor([cout * cin * 9])
                Winograd.weightGradient(x: x, dy: dy, n: n, h: h, w: w, cin: cin, cout: cout, tile: tile, dw: dw.data,
                                        workers: threads, workspace: Workspace())
                let err = relativeError(dw.array, refF)
                print("weight gradient, \(tile) tiles, \(threads) workers: relative error \(err)")
                XCTAssertLessThan(err, tile == .four ? 5e-6 : 1e-6, "\(tile) tiles, \(threads) workers")
            }
        }
    }

    /// The cached transformed filters follow the tile size: one layer evaluated at a batch that
    /// takes 4x4 tiles, then at one that takes 2x2 tiles, then 4x4 again, with the same weights.
    func testCachedFiltersFollowTheTileSize() {
        let saved = (Winograd.largeTiles, Winograd.minTiles, Winograd.enabled)
        defer { Winograd.largeTiles = saved.0; Winograd.minTiles = saved.1; Winograd.enabled = saved.2 }
        Winograd.largeTiles = true
        Winograd.minTiles = 32
        var rng = RNG(seed: 4)
        let conv = Conv2d("c", cin: 5, cout: 6, k: 3, stride: 1, pad: 1, workspace: Workspace())
        for i in 0..<conv.weight.value.count { conv.weight.value[i] = rng.normal() }
        conv.weight.markModified()
        for n in [4, 1, 4] {  // 16x16: 64 and 16 4x4 tiles
            XCTAssertEqual(Winograd.tile(n: n, h: 16, w: 16), n == 4 ? .four : .two)
            let x = Tensor([5, n, 16, 16])
            for i in 0..<x.count { x[i] = rng.normal() }
            let y = conv.forward(x, mode: .eval).array
            Winograd.enabled = false
            let z = conv.forward(x, mode: .eval).array
            Winograd.enabled = true
            XCTAssertLessThan(relativeError(y, z), 1e-5, "batch \(n)")
        }
    }

    func testFourByFourTilesOnlyWhereTheirSIMDLanesFit() {
        let saved = (Winograd.largeTiles, Winograd.minTiles)
        defer { Winograd.largeTiles = saved.0; Winograd.minTiles = saved.1 }
        Winograd.largeTiles = true
        Winograd.minTiles = 64
        XCTAssertEqual(Winograd.tile(n: 128, h: 32, w: 32), .four)
        XCTAssertEqual(Winograd.tile(n: 128, h: 16, w: 16), .four)
        XCTAssertEqual(Winograd.tile(n: 128, h: 8, w: 8), .two)    // 2 tiles a row
        // a 4x4 plane is one tile, eight images a vector, on the AVX2 kernels only
        XCTAssertEqual(Winograd.tile(n: 128, h: 4, w: 4), Kernels.avx2 ? .four : .two)
        XCTAssertEqual(Winograd.tile(n: 32, h: 4, w: 4), .two)     // 32 tiles: too few
        XCTAssertEqual(Winograd.tile(n: 128, h: 4, w: 4, channels: 256), Kernels.avx2 ? .four : .two)
        XCTAssertEqual(Winograd.tile(n: 128, h: 4, w: 4, channels: 512), .two)  // GEMMs too narrow
        Winograd.plane4Tiles = false
        XCTAssertEqual(Winograd.tile(n: 128, h: 4, w: 4), .two)
        Winograd.plane4Tiles = true
        XCTAssertEqual(Winograd.tile(n: 1, h: 32, w: 32), .four)   // 64 tiles
        XCTAssertEqual(Winograd.tile(n: 1, h: 16, w: 16), .two)    // 16 tiles: too few
        XCTAssertEqual(Winograd.tile(n: 8, h: 6, w: 16), .two)     // height not a multiple of 4
        Winograd.largeTiles = false
        XCTAssertEqual(Winograd.tile(n: 128, h: 32, w: 32), .two)
    }

    /// A single image's 8x8 layer takes Winograd (2x2 tiles, 16 of them) when its GEMMs run on
    /// the small-GEMM kernel (at most smallGemmMaxK input channels, AVX2), not otherwise; 4x4
    /// layers (4 tiles) never at batch 1.
    func testFewTilesTakeWinogradOnlyOnTheSmallGemmKernel() {
        let saved = (Winograd.minTiles, Winograd.minTilesSmallGemm, Kernels.avx2, Winograd.smallGemmMaxK, Winograd.enabled)
        defer {
            Winograd.minTiles = saved.0; Winograd.minTilesSmallGemm = saved.1; Kernels.avx2 = saved.2; Winograd.smallGemmMaxK = saved.3
            Winograd.enabled = saved.4
        }
        Winograd.enabled = true
        Winograd.minTiles = 64; Winograd.minTilesSmallGemm = 16; Winograd.smallGemmMaxK = 64
        Kernels.avx2 = true
        XCTAssertTrue(Winograd.applies(k: 3, stride: 1, pad: 1, n: 1, h: 8, w: 8, cin: 64))
        XCTAssertFalse(Winograd.applies(k: 3, stride: 1, pad: 1, n: 1, h: 8, w: 8, cin: 128))  // OpenBLAS GEMM
        XCTAssertFalse(Winograd.applies(k: 3, stride: 1, pad: 1, n: 1, h: 4, w: 4, cin: 32))   // 4 tiles
        XCTAssertTrue(Winograd.applies(k: 3, stride: 1, pad: 1, n: 4, h: 4, w: 4, cin: 32))    // 16 tiles
        XCTAssertTrue(Winograd.applies(k: 3, stride: 1, pad: 1, n: 1, h: 16, w: 16, cin: 128)) // 64 tiles
        Kernels.avx2 = false  // the portable GEMM is OpenBLAS's
        XCTAssertFalse(Winograd.applies(k: 3, stride: 1, pad: 1, n: 1, h: 8, w: 8, cin: 64))
    }

    /// In the layer: a single image's 64-channel 8x8 convolution (width 16's third stage) runs
    /// through Winograd with the AVX2 kernels, and matches the portable im2col path.
    func testSingleImageEightByEightLayerTakesWinograd() throws {
        try XCTSkipUnless(Kernels.cpuHasAVX2, "the small-GEMM kernel needs AVX2")
        let saved = (Kernels.avx2, Winograd.enabled, Profiler.enabled)
        defer { Kernels.avx2 = saved.0; Winograd.enabled = saved.1; Profiler.enabled = saved.2; Profiler.reset() }
        Kernels.avx2 = true; Winograd.enabled = true
        let conv = Conv2d("c", cin: 64, cout: 64, k: 3, stride: 1, pad: 1, workspace: Workspace())
        var rng = RNG(seed: 21)
        for i in 0..<conv.weight.value.count { conv.weight.value[i] = rng.normal() }
        conv.weight.markModified()
        let x = Tensor([64, 1, 8, 8])
        for i in 0..<x.count { x[i] = rng.normal() }
        Profiler.reset(); Profiler.enabled = true
        let y = conv.forward(x, mode: .eval).array
        Profiler.enabled = false
        // by phases, or split by output channels (Winograd.channelSplit) on several workers
        XCTAssertNotNil(Profiler.entries["conv.winograd.gemm"] ?? Profiler.entries["conv.winograd.channels"],
                        "the 8x8 layer did not take Winograd")
        Winograd.enabled = false
        let ref = conv.forward(x, mode: .eval).array
        XCTAssertLessThan(relativeError(y, ref), 1e-5)
    }

    func testShapesOutsideThePathFallBack() {
        XCTAssertFalse(Winograd.applies(k: 3, stride: 1, pad: 1, n: 1, h: 8, w: 8) && Winograd.minTiles > 16)  // too few tiles
        XCTAssertFalse(Winograd.applies(k: 3, stride: 1, pad: 1, h: 6, w: 6))   // 3 tiles a row
        XCTAssertFalse(Winograd.applies(k: 3, stride: 1, pad: 1, h: 5, w: 8))   // odd height
        XCTAssertFalse(Winograd.applies(k: 3, stride: 2, pad: 1, h: 8, w: 8))
        XCTAssertFalse(Winograd.applies(k: 1, stride: 1, pad: 0, h: 8, w: 8))
    }

    private func naiveWithEpilogue(_ x: Tensor, _ conv: Conv2d, n: Int, h: Int, w: Int,
                                   _ ep: ChannelAffine, _ res: Tensor) -> [Float] {
        var y = naiveConvRect(x.array, n: n, cin: conv.cin, h: h, w: w, weight: conv.weight.value.array, cout: conv.cout)
        let plane = n * h * w
        for c in 0..<conv.cout { for i in 0..<plane {
            let v = y[c * plane + i] * ep.scale[c] + ep.shift[c] + res[c * plane + i]
            y[c * plane + i] = ep.relu ? max(0, v) : v
        } }
        return y
    }

    /// 3x3, stride 1, pad 1, on h x w planes, channel-major.
    private func naiveConvRect(_ x: [Float], n: Int, cin: Int, h: Int, w: Int, weight: [Float], cout: Int) -> [Float] {
        var y = [Float](repeating: 0, count: cout * n * h * w)
        for co in 0..<cout { for ni in 0..<n { for oy in 0..<h { for ox in 0..<w {
            var s: Float = 0
            for ci in 0..<cin { for ky in 0..<3 { for kx in 0..<3 {
                let iy = oy + ky - 1, ix = ox + kx - 1
                if iy >= 0 && iy < h && ix >= 0 && ix < w {
                    s += weight[((co * cin + ci) * 3 + ky) * 3 + kx] * x[((ci * n + ni) * h + iy) * w + ix]
                }
            } } }
            y[((co * n + ni) * h + oy) * w + ox] = s
        } } } }
        return y
    }

    /// A single image's band layers keep their activations stored by bands (RowBands), and the
    /// residual blocks' shortcuts run inside conv1's job (FusedShortcut): the logits are
    /// bit-identical to the planar layout's and to one thread's (the same sums in the same order) for
    /// two and three bands (three: a middle band reads rows from both neighbours), at widths
    /// whose first stages split by bands, and the stem's output really is stored by bands.
    func testBandedLayoutGivesTheSameLogits() throws {
        try XCTSkipUnless(Kernels.avx2, "bands are stored by bands only on the AVX2 kernels")
        let saved = (Threads.configured, WorkerChoice.enabled, RowBands.enabled)
        defer { Threads.set(saved.0); WorkerChoice.enabled = saved.1; RowBands.enabled = saved.2 }
        WorkerChoice.enabled = false
        var rng = RNG(seed: 11)
        for width in [16, 32] {
            let (model, x, one) = oneWorkerPass(width: width, seed: 4, &rng)
            for threads in [2, 3] {
                Threads.set(threads)
                RowBands.enabled = false
                let planar = model.forward(x, mode: .eval).array
                XCTAssertNil(model.conv1.output.bands)
                RowBands.enabled = true
                let banded = model.forward(x, mode: .eval).array
                XCTAssertEqual(model.conv1.output.bands?.parts, threads, "width \(width), \(threads) threads: the stem's output by bands")
                XCTAssertNotNil(model.blocks[1].conv2.output.bands, "stage 1's last output by bands, for the stride-2 layers")
                XCTAssertNil(model.blocks[7].conv2.output.bands, "the last block's output, for the pooling, is planar")
                if width == 16 {  // stage 2: 32 channels of 16x16 split by F(2x2) bands
                    XCTAssertEqual(model.blocks[2].conv2.output.bands?.tileSize, 2, "\(threads) threads: stage 2 by bands")
                }
                XCTAssertEqual(banded, planar, "width \(width), \(threads) threads")
                assertSameBitsWhereBLASAllows(banded, one, "width \(width), \(threads) threads against one")
            }
        }
    }

    /// At width 64 the first stages have too many channels for bands: a single image's Winograd
    /// layers split by output channels (Winograd.channelSplit), each worker transforming the
    /// whole input; the logits are bit-identical to one worker's and to the split by phases.
    func testChannelSplitWinogradGivesTheSameLogits() throws {
        try XCTSkipUnless(Kernels.avx2, "the AVX2 kernels")
        let saved = (Threads.configured, WorkerChoice.enabled, Winograd.channelSplit)
        defer { Threads.set(saved.0); WorkerChoice.enabled = saved.1; Winograd.channelSplit = saved.2 }
        WorkerChoice.enabled = false
        var rng = RNG(seed: 13)
        let (model, x, one) = oneWorkerPass(width: 64, seed: 5, &rng)
        for threads in [2, 3] {
            Threads.set(threads)
            Winograd.channelSplit = true
            Profiler.reset(); Profiler.enabled = true
            assertSameBitsWhereBLASAllows(model.forward(x, mode: .eval).array, one, "\(threads) threads, split by channels")
            Profiler.enabled = false
            XCTAssertNotNil(Profiler.entries["conv.winograd.channels+bn"], "\(threads) threads: the channel split ran")
            Winograd.channelSplit = false
            assertSameBitsWhereBLASAllows(model.forward(x, mode: .eval).array, one, "\(threads) threads, by phases")
        }
        Profiler.reset()
    }

    /// A tensor stored by bands given to a layer that reads planar input (another split, or
    /// no bands at all) is read through a planar copy: the same output as from the planar tensor.
    func testBandedInputIsConvertedForOtherPaths() throws {
        try XCTSkipUnless(Kernels.avx2, "bands are stored by bands only on the AVX2 kernels")
        let saved = (Threads.configured, RowBands.enabled)
        defer { Threads.set(saved.0); RowBands.enabled = saved.1 }
        RowBands.enabled = true
        Threads.set(2)
        var rng = RNG(seed: 12)
        let ws = Workspace()
        let a = Conv2d("a", cin: 16, cout: 16, k: 3, stride: 1, pad: 1, workspace: ws)
        let b = Conv2d("b", cin: 16, cout: 16, k: 3, stride: 1, pad: 1, workspace: ws)
        for c in [a, b] { for i in 0..<c.weight.value.count { c.weight.value[i] = 0.1 * rng.normal() } }
        a.bandedOutput = .sameSplit
        let x = Tensor([16, 1, 32, 32])
        for i in 0..<x.count { x[i] = rng.normal() }
        let affine = ChannelAffine(scale: [Float](repeating: 1, count: 16), shift: [Float](repeating: 0, count: 16), relu: true)
        let banded = a.forward(x, mode: .eval, epilogue: affine)
        let split = try XCTUnwrap(banded.bands, "a's output by bands")
        XCTAssertEqual(split, RowBands(channels: 16, h: 32, w: 32, tileSize: 4, parts: 2))
        // The planar image of a's output, by RowBands.toPlanar and by row(): the same values.
        let planar = Tensor(banded.shape)
        split.toPlanar(banded.data, planar.data)
        for r in [0, 15, 16, 31] {
            let (p, cs) = split.row(r, banded.data)
            for c in [0, 7, 15] { XCTAssertEqual(p[c * cs + 5], planar[c * 1024 + r * 32 + 5]) }
        }
        // b on the band path (reads the bands), on one thread (planar copy), and by im2col.
        let viaBands = b.forward(banded, mode: .eval, epilogue: affine).array
        XCTAssertNil(b.output.bands)
        let reference = b.forward(planar, mode: .eval, epilogue: affine).array
        assertSame(viaBands, reference, "band path")
        _ = a.forward(x, mode: .eval, epilogue: affine)
        Threads.set(1)
        assertSame(b.forward(banded, mode: .eval, epilogue: affine).array, reference, "one thread: planar copy")
        Threads.set(2)
        let winograd = Winograd.enabled
        defer { Winograd.enabled = winograd }
        Winograd.enabled = false
        let direct = b.forward(banded, mode: .eval, epilogue: affine).array
        let directReference = b.forward(planar, mode: .eval, epilogue: affine).array
        assertSame(direct, directReference, "the direct path reads a planar copy")
        // and as a residual beside a planar input
        Winograd.enabled = true
        _ = a.forward(x, mode: .eval, epilogue: affine)
        let withResidual = b.forward(planar, mode: .eval, epilogue: affine, residual: banded).array
        let planarResidual = b.forward(planar, mode: .eval, epilogue: affine, residual: planar).array
        assertSame(withResidual, planarResidual, "residual by bands, input planar")
    }

    /// A width-`width` model with batch norm other than the identity (so that the epilogue's
    /// residual rows matter), a random image, and the image's logits on one worker.
    private func oneWorkerPass(width: Int, seed: UInt64, _ rng: inout RNG) -> (ResNet18, Tensor, [Float]) {
        let model = ResNet18(width: width)
        model.initialize(seed: seed)
        for bn in [model.bn1] + model.blocks.flatMap({ [$0.bn1, $0.bn2] }) {
            for c in 0..<bn.channels { bn.runningMean.value[c] = 0.1 * rng.normal(); bn.runningVar.value[c] = 1 + 0.5 * rng.uniform() }
        }
        let x = Tensor([3, 1, 32, 32])
        for i in 0..<x.count { x[i] = rng.normal() }
        Threads.set(1)
        return (model, x, model.forward(x, mode: .eval).array)
    }

    /// Equal element by element; on failure the count and the largest difference, not the arrays.
    private func assertSame(_ a: [Float], _ b: [Float], _ what: String, line: UInt = #line) {
        let differ = zip(a, b).filter { $0 != $1 }.count
        let largest = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertTrue(a.count == b.count && differ == 0, "\(what): \(differ) of \(a.count) differ, by up to \(largest)", line: line)
    }
}
