import XCTest
@testable import RobustCore

/// The GEMM convolution (sliced, threaded) against a direct nested-loop convolution.
final class ConvolutionTests: XCTestCase {
    func naiveConv(_ x: [Float], n: Int, cin: Int, h: Int, w: Int, weight: [Float], cout: Int,
                   k: Int, stride: Int, pad: Int) -> [Float] {
        let ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1
        var y = [Float](repeating: 0, count: cout * n * ho * wo)
        for co in 0..<cout { for ni in 0..<n { for oy in 0..<ho { for ox in 0..<wo {
            var s: Float = 0
            for ci in 0..<cin { for ky in 0..<k { for kx in 0..<k {
                let iy = oy * stride + ky - pad, ix = ox * stride + kx - pad
                if iy >= 0 && iy < h && ix >= 0 && ix < w {
                    s += weight[((co * cin + ci) * k + ky) * k + kx] * x[((ci * n + ni) * h + iy) * w + ix]
                }
            } } }
            y[((co * n + ni) * ho + oy) * wo + ox] = s
        } } } }
        return y
    }

    func testMatchesDirectConvolutionAcrossSlicesAndThreads() {
        let saved = (Conv2d.sliceBytes, Threads.count, Conv2d.backwardThroughOutputColumns, Kernels.avx2)
        defer {
            Conv2d.sliceBytes = saved.0; Threads.set(saved.1); Conv2d.backwardThroughOutputColumns = saved.2
            Kernels.avx2 = saved.3
        }
        var rng = RNG(seed: 3)
        // includes planes smaller than the kernel (1x1 and 2x2 inputs: every tap at the border),
        // stride-2 rows long enough for the AVX2 gather/scatter (8 a vector, plus tails), planes
        // too large for rk_im2col_channel's padded copy (64 and 65 rows: its bounded path), a
        // stride-2 5x5 and a stride 3 (neither stride 1 nor 2 in the padded path)
        for (k, stride, pad, h) in [(3, 1, 1, 6), (3, 2, 1, 7), (1, 2, 0, 6), (1, 1, 0, 5), (3, 1, 0, 6),
                                    (3, 1, 1, 1), (3, 1, 1, 2), (5, 1, 2, 1), (5, 1, 2, 3), (3, 2, 1, 1),
                                    (3, 2, 1, 32), (3, 2, 1, 19), (1, 2, 0, 34), (1, 2, 0, 7), (1, 2, 0, 35), (1, 3, 0, 10),
                                    (3, 1, 1, 64), (3, 2, 1, 65), (5, 2, 2, 9), (3, 3, 1, 10)] {
            let n = 5, cin = 3, cout = 4
            let conv = Conv2d("c", cin: cin, cout: cout, k: k, stride: stride, pad: pad, workspace: Workspace())
            for i in 0..<conv.weight.value.count { conv.weight.value[i] = rng.normal() }
            let x = Tensor([cin, n, h, h])
            for i in 0..<x.count { x[i] = rng.normal() }
            let ref = naiveConv(x.array, n: n, cin: cin, h: h, w: h, weight: conv.weight.value.array, cout: cout,
                                k: k, stride: stride, pad: pad)
            var grads: [[Float]] = []
            // Both backward algorithms (im2col(x)+col2im, and im2col(dy) for stride-1 "same").
            // The scalar stride-2 loops first (the reference of every later gradient), then AVX2.
            for (slice, threads, viaDy, avx2) in [(1 << 30, 1, false, false), (1 << 30, 1, true, false), (1, 2, true, false),
                                                  (200, 2, false, false), (200, 2, true, false), (1 << 30, 3, true, false),
                                                  (1 << 30, 1, false, true), (200, 2, false, true), (1 << 30, 3, true, true)] {
                Kernels.avx2 = avx2 && Kernels.cpuHasAVX2
                Conv2d.sliceBytes = slice
                Threads.set(threads)
                Conv2d.backwardThroughOutputColumns = viaDy
                let y = conv.forward(x, mode: .train).array
                XCTAssertLessThan(relativeError(y, ref), 1e-5, "k\(k) s\(stride) p\(pad) slice \(slice) threads \(threads)")
                let r = Tensor(conv.output.shape)
                for i in 0..<r.count { r[i] = Float(i % 7) - 3 }
                conv.backward(r)
                grads.append(conv.inputGrad.array + conv.weight.grad!.array)
            }
            for g in grads.dropFirst() { XCTAssertLessThan(relativeError(g, grads[0]), 1e-5, "k\(k) s\(stride) p\(pad) h\(h)") }
        }
    }

    /// Forward slices claimed by the next free worker (SliceClaims) give the bits of the fixed
    /// split and of one worker, for the Winograd and im2col layers of a whole network in
    /// evaluation and training mode, with slices small enough that every layer has several.
    /// Each setting runs on its own freshly made model (same seed), so a slice that no worker
    /// computed cannot pass by leaving an earlier run's output in place.
    func testDynamicSlicesGiveTheSameBits() {
        let saved = (Conv2d.sliceBytes, Threads.count, SliceClaims.dynamic, SliceClaims.affinity)
        defer {
            Conv2d.sliceBytes = saved.0; Threads.set(saved.1); SliceClaims.dynamic = saved.2
            SliceClaims.affinity = saved.3
        }
        Conv2d.sliceBytes = 64 << 10
        var rng = RNG(seed: 23)
        let x = Tensor([3, 12, 32, 32])
        for i in 0..<x.count { x[i] = rng.normal() }
        for mode in [Mode.eval, .train] {
            var outputs: [[Float]] = []
            for (threads, dynamic, affinity) in [(2, true, false), (3, true, false), (2, false, false), (1, false, false),
                                                 (2, true, true), (3, true, true)] {
                Threads.set(threads)
                SliceClaims.dynamic = dynamic
                SliceClaims.affinity = affinity
                let model = ResNet18(width: 8)
                model.initialize(seed: 5)
                outputs.append(model.forward(x, mode: mode).array)
            }
            for (k, o) in outputs.enumerated().dropFirst() { assertSameBitsWhereBLASAllows(o, outputs[0], "\(mode), setting \(k)") }
            XCTAssertFalse(outputs[0].contains { !$0.isFinite }, "\(mode): finite logits")
        }
    }

    /// A convolution's weight gradient sums its slices by groups (SliceGroups) that any worker
    /// may claim: with one group per slice (and slices cut by the cache target alone), 1-3
    /// workers, dynamic or fixed claims, give the same bits on every backward path (Winograd,
    /// im2col of dy, im2col of x for stride 2 and for 1x1), and the gradient matches the
    /// definition.
    func testWeightGradientBitsDoNotDependOnWhoSummedTheSlices() {
        let saved = (Conv2d.sliceBytes, Threads.count, SliceClaims.dynamic, SliceGroups.perWorker, Winograd.inTraining)
        defer {
            Conv2d.sliceBytes = saved.0; Threads.set(saved.1); SliceClaims.dynamic = saved.2
            SliceGroups.perWorker = saved.3; Winograd.inTraining = saved.4
        }
        Conv2d.sliceBytes = 8 << 10  // 1-2 images a slice on every path: fewer than 12 / 3
        SliceGroups.perWorker = 1000
        var rng = RNG(seed: 41)
        let (cin, cout, n, h) = (5, 7, 12, 12)
        let x = Tensor([cin, n, h, h])
        for i in 0..<x.count { x[i] = rng.normal() }
        for (k, stride, winograd) in [(3, 1, true), (3, 1, false), (3, 2, false), (1, 1, false)] {
            Winograd.inTraining = winograd
            let pad = k / 2
            let conv = Conv2d("c", cin: cin, cout: cout, k: k, stride: stride, pad: pad, workspace: Workspace())
            var wr = RNG(seed: 3)
            for i in 0..<conv.weight.value.count { conv.weight.value[i] = wr.normal() }
            conv.weight.markModified()
            let ho = (h + 2 * pad - k) / stride + 1
            let dy = Tensor([cout, n, ho, ho])
            for i in 0..<dy.count { dy[i] = wr.normal() }
            var grads: [[Float]] = []
            for (threads, dynamic) in [(1, false), (2, true), (3, true), (2, false), (2, true), (3, false)] {
                Threads.set(threads)
                SliceClaims.dynamic = dynamic
                _ = conv.forward(x, mode: .train)
                conv.weight.grad!.fill(.nan)
                conv.backward(dy)
                grads.append(conv.weight.grad!.array)
            }
            let what = "k \(k), stride \(stride), winograd \(winograd)"
            for (s, gr) in grads.enumerated().dropFirst() { XCTAssertEqual(gr, grads[0], "\(what): setting \(s)") }
            // dW[co, ci, ky, kx] = sum over images and output pixels of dy * x at the tap
            var ref = [Float](repeating: 0, count: cout * cin * k * k)
            for co in 0..<cout { for ci in 0..<cin { for ky in 0..<k { for kx in 0..<k {
                var acc = 0.0
                for b in 0..<n { for oy in 0..<ho { for ox in 0..<ho {
                    let sy = oy * stride + ky - pad, sx = ox * stride + kx - pad
                    if sy < 0 || sy >= h || sx < 0 || sx >= h { continue }
                    acc += Double(dy[((co * n + b) * ho + oy) * ho + ox]) * Double(x[((ci * n + b) * h + sy) * h + sx])
                } } }
                ref[((co * cin + ci) * k + ky) * k + kx] = Float(acc)
            } } } }
            XCTAssertLessThan(relativeError(grads[0], ref), 1e-5, what)
        }
    }

    func testSingleImageInference() {
        // One image: fewer slices than workers, so the GEMMs are split by rows of the weights
        // where they have few columns, by columns elsewhere (with the split threshold at 0; the
        // default keeps the small layers on one thread). The batch of 3 goes through im2col
        // (direct kernels off), the single images through the direct kernels where they apply.
        let saved = (minParallelFlops, DirectConv.maxImages)
        defer { minParallelFlops = saved.0; DirectConv.maxImages = saved.1 }
        minParallelFlops = 0
        Threads.set(2)
        let m = ResNet18(width: 4)
        m.initialize(seed: 2)
        let x = Tensor([3, 3, 32, 32])
        var rng = RNG(seed: 1)
        for i in 0..<x.count { x[i] = rng.normal() }
        DirectConv.maxImages = 0
        let batch = m.forward(x, mode: .eval).array
        DirectConv.maxImages = 1
        for j in 0..<3 {
            let one = Tensor([3, 1, 32, 32])
            for c in 0..<3 { for p in 0..<1024 { one[c * 1024 + p] = x[(c * 3 + j) * 1024 + p] } }
            let y = m.forward(one, mode: .eval).array
            XCTAssertLessThan(relativeError(y, Array(batch[(j * 10)..<(j * 10 + 10)])), 1e-5)
        }
    }

    /// The direct 3x3 kernels of small inference batches (CKernels/conv3x3_avx2.c, strides 1 and
    /// 2) against the nested loops, with the fused epilogue and residual: channel counts off the
    /// 6-row block, planes from 1x1 (every tap on the border) to 16x16, odd and non-square planes
    /// (stride 2: the parity planes' last row and column fall on padding), one and two
    /// workers (the split threshold at 0), and several images a call, with the filter prefetch
    /// (Kernels.weightPrefetch) off and on. (In the network, batch-1
    /// 32x32 and 16x16 layers take the Winograd path, which measured faster there, and so do
    /// 8x8 layers of at most 64 channels: Winograd.minTilesSmallGemm.)
    func testDirectConvolutionForSmallBatches() throws {
        try XCTSkipUnless(Kernels.cpuHasAVX2, "the direct kernel needs AVX2")
        let saved = (minParallelFlops, Threads.count, Kernels.avx2, DirectConv.maxImages, Profiler.enabled, Winograd.minTiles,
                     DirectConv.channelLanes, Winograd.minTilesSmallGemm, Kernels.weightPrefetch)
        defer {
            minParallelFlops = saved.0; Threads.set(saved.1); Kernels.avx2 = saved.2
            DirectConv.maxImages = saved.3; Profiler.enabled = saved.4; Profiler.reset(); Winograd.minTiles = saved.5
            DirectConv.channelLanes = saved.6; Winograd.minTilesSmallGemm = saved.7; Kernels.weightPrefetch = saved.8
        }
        minParallelFlops = 0
        Winograd.minTiles = Int.max  // the 16x16 plane would take the Winograd path
        Winograd.minTilesSmallGemm = Int.max
        Kernels.avx2 = true
        DirectConv.maxImages = 4
        var rng = RNG(seed: 9)
        for (cin, cout, h, w, n, stride) in [(3, 4, 1, 1, 1, 1), (3, 7, 2, 2, 1, 1), (5, 13, 4, 4, 1, 1), (16, 6, 8, 8, 2, 1),
                                             (8, 12, 16, 16, 1, 1), (4, 5, 3, 7, 3, 1), (2, 1, 5, 1, 1, 1), (7, 19, 6, 15, 4, 1),
                                             (3, 4, 1, 1, 1, 2), (5, 13, 7, 7, 1, 2), (16, 6, 8, 8, 2, 2), (8, 12, 16, 16, 1, 2),
                                             (4, 5, 3, 8, 3, 2), (7, 19, 9, 15, 2, 2), (2, 3, 2, 5, 1, 2),
                                             (9, 40, 4, 4, 1, 1), (6, 33, 5, 6, 2, 2),
                                             // more than 16 input and output channels: a single image's
                                             // pack is split by channels across the workers
                                             (40, 36, 4, 4, 1, 1), (33, 40, 8, 8, 1, 2), (48, 20, 5, 5, 1, 1),
                                             // stride-2 rows long enough for the pack's vector gather (9+ a row)
                                             (4, 5, 3, 18, 1, 2), (5, 7, 9, 19, 2, 2), (3, 17, 20, 35, 1, 2)] {
            let conv = Conv2d("c", cin: cin, cout: cout, k: 3, stride: stride, pad: 1, workspace: Workspace())
            for i in 0..<conv.weight.value.count { conv.weight.value[i] = rng.normal() }
            let x = Tensor([cin, n, h, w])
            for i in 0..<x.count { x[i] = rng.normal() }
            let ho = (h - 1) / stride + 1, wo = (w - 1) / stride + 1
            let res = Tensor([cout, n, ho, wo])
            for i in 0..<res.count { res[i] = rng.normal() }
            let affine = ChannelAffine(scale: (0..<cout).map { _ in rng.normal() }, shift: (0..<cout).map { _ in rng.normal() },
                                       relu: true)
            let bare = naiveConv(x.array, n: n, cin: cin, h: h, w: w, weight: conv.weight.value.array, cout: cout,
                                 k: 3, stride: stride, pad: 1)
            checkInference(conv, x, residual: res, affine, bare: bare, path: "conv.direct+bn", sameBits: false,
                           what: "cin \(cin) cout \(cout) \(h)x\(w) n \(n) stride \(stride)",
                           settings: [(1, false, true), (2, false, true), (1, true, true), (2, true, true), (3, true, true),
                                      (2, true, false)].map { threads, lanes, prefetch in
                               ("threads \(threads) channel lanes \(lanes) prefetch \(prefetch)", {
                                   Threads.set(threads); DirectConv.channelLanes = lanes; Kernels.weightPrefetch = prefetch
                               })
                           })
        }
    }

    /// A single image's 4x4- and 8x8-plane layers of 16k output channels take WinogradSingle
    /// (F(2x2) with the channels in the lanes; 16 tiles on 8x8 planes, six broadcast at a time,
    /// so 16 tiles leave a group of four): against the naive convolution with and without the
    /// epilogue (folded batch norm, residual, ReLU), on 1-3 workers with the same bits, channel
    /// counts that leave a partial vector of inputs (3, 20), with the filter prefetch off and on
    /// (the same bits), and a weight change that must reach the cached filter layout. The
    /// rounding is F(2x2)'s (WinogradTests' 1e-5).
    func testSingleImageSmallPlanesByWinograd() throws {
        try XCTSkipUnless(Kernels.cpuHasAVX2, "the kernel needs AVX2")
        let saved = (minParallelFlops, Threads.count, Kernels.avx2, Profiler.enabled, WinogradSingle.planes4,
                     Kernels.weightPrefetch, WinogradSingle.planes8, WinogradSingle.minChannels8)
        defer {
            minParallelFlops = saved.0; Threads.set(saved.1); Kernels.avx2 = saved.2; Profiler.enabled = saved.3
            Profiler.reset(); WinogradSingle.planes4 = saved.4; Kernels.weightPrefetch = saved.5
            WinogradSingle.planes8 = saved.6; WinogradSingle.minChannels8 = saved.7
        }
        minParallelFlops = 0
        Kernels.avx2 = true
        WinogradSingle.planes4 = true
        WinogradSingle.planes8 = true
        WinogradSingle.minChannels8 = 0
        var rng = RNG(seed: 17)
        for (side, cin, cout) in [(4, 16, 16), (4, 20, 32), (4, 40, 48), (4, 128, 128), (4, 64, 256),
                                  (8, 16, 16), (8, 20, 32), (8, 3, 128), (8, 40, 48), (8, 128, 128), (8, 256, 64)] {
            let conv = Conv2d("c", cin: cin, cout: cout, k: 3, stride: 1, pad: 1, workspace: Workspace())
            for i in 0..<conv.weight.value.count { conv.weight.value[i] = rng.normal() }
            let x = Tensor([cin, 1, side, side])
            for i in 0..<x.count { x[i] = rng.normal() }
            let res = Tensor([cout, 1, side, side])
            for i in 0..<res.count { res[i] = rng.normal() }
            let affine = ChannelAffine(scale: (0..<cout).map { _ in rng.normal() }, shift: (0..<cout).map { _ in rng.normal() },
                                       relu: true)
            let bare = naiveConv(x.array, n: 1, cin: cin, h: side, w: side, weight: conv.weight.value.array, cout: cout,
                                 k: 3, stride: 1, pad: 1)
            checkInference(conv, x, residual: res, affine, bare: bare, path: "conv.winograd.single\(side)+bn", sameBits: true,
                           what: "\(side)x\(side) cin \(cin) cout \(cout)",
                           settings: [(1, true), (2, true), (3, true), (2, false)].map { threads, prefetch in
                               ("threads \(threads) prefetch \(prefetch)", {
                                   Threads.set(threads); Kernels.weightPrefetch = prefetch
                               })
                           })
        }
    }

    /// One convolution's inference against the nested loops: with the epilogue (`affine`,
    /// ReLU, `residual`) and without (`bare`, the plain convolution) under each of `settings`
    /// (applied before the passes), checking that the kernel `path` ran (its Profiler entry)
    /// and, with `sameBits`, that every setting gives the first one's bits; then once more
    /// after the weights are negated, since the paths cache filter layouts by weight version.
    private func checkInference(_ conv: Conv2d, _ x: Tensor, residual res: Tensor, _ affine: ChannelAffine, bare: [Float],
                                path: String, sameBits: Bool, what: String, settings: [(String, () -> Void)]) {
        let plane = bare.count / conv.cout
        let ref = bare.indices.map { i in
            max(0, bare[i] * affine.scale[i / plane] + affine.shift[i / plane] + res[i])
        }
        var first: [Float]?
        for (name, apply) in settings {
            apply()
            let what = what + " " + name
            Profiler.reset(); Profiler.enabled = true
            let y = conv.forward(x, mode: .eval, epilogue: affine, residual: res).array
            Profiler.enabled = false
            XCTAssertNotNil(Profiler.entries[path], "\(path) did not run: " + what)
            XCTAssertLessThan(relativeError(y, ref), 1e-5, what)
            if sameBits, let f = first { XCTAssertEqual(y, f, "the same bits in every setting: " + what) }
            first = first ?? y
            XCTAssertLessThan(relativeError(conv.forward(x, mode: .eval).array, bare), 1e-5, "no epilogue: " + what)
        }
        for i in 0..<conv.weight.value.count { conv.weight.value[i] = -conv.weight.value[i] }
        conv.weight.markModified()
        XCTAssertLessThan(relativeError(conv.forward(x, mode: .eval).array, bare.map { -$0 }), 1e-5,
                          "after a weight change: " + what)
    }

    /// The folded batch norm is cached: it must follow every change of its four tensors, from
    /// a training pass (running statistics), an optimizer-like write (weight) and a load.
    func testFoldedBatchNormFollowsEveryChange() {
        let bn = BatchNorm2d("bn", channels: 3, relu: false)
        func expected() -> [Float] {
            (0..<3).map { c in bn.weight.value[c] / (bn.runningVar.value[c] + bn.eps).squareRoot() }
        }
        XCTAssertEqual(bn.folded().scale, expected())
        let first = bn.folded()
        var rng = RNG(seed: 3)
        let x = Tensor([3, 2, 4, 4])
        for i in 0..<x.count { x[i] = 2 + 3 * rng.normal() }
        bn.forward(x, mode: .train)
        XCTAssertNotEqual(bn.folded(), first, "a training pass moved the running statistics")
        XCTAssertEqual(bn.folded().scale, expected())
        bn.weight.value[1] = 7
        bn.weight.markModified()
        XCTAssertEqual(bn.folded().scale[1], expected()[1])
        bn.bias.value[2] = -4
        bn.bias.markModified()
        XCTAssertEqual(bn.folded().shift[2], bn.runningMean.value[2] * -expected()[2] + -4)
        bn.eps = 0.5
        XCTAssertEqual(bn.folded().scale, expected())
    }
}
