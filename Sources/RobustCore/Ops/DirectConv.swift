// Direct 3x3 convolution (stride 1 or 2) for single-image inference (CKernels/conv3x3_avx2.c).
//
// A single image's 8x8 and 4x4 layers (and its stride-2 ones) are GEMMs of 16 to 256 columns:
// im2col wrote nine copies of the input for them (a third of batch-1 latency at width 16) and
// the sgemm packed both operands again. The direct kernel reads the zero-bordered input in
// place (stride 2: its four parity planes), each kernel tap a flat shift of it, with the
// weights in their stored layout. (The 32x32 and 16x16 stride-1 layers of a single image take
// Winograd F(4x4), faster there.)
// Two kernels: by default the output channels fill the vector lanes and each position is a
// broadcast (conv3x3_cvec_avx2.c), so no lane is spent on the border columns the flat-shift
// layout leaves between rows; ROBUST_DIRECT_LANES=positions selects the first kernel, which
// puts 16 positions in the lanes (conv3x3_avx2.c), for comparison. Single-threaded, per layer
// (C harness, w16 shapes): 1.2-2.0x, most on 4x4 outputs, where 8 of every 24 position lanes
// were wasted; whole single-image forwards, alternated call by call in one process: 0.88x the
// latency at widths 16 to 64, 0.93x at 12 (bench/results/perf/ab-direct-lanes.txt).

import CKernels

enum DirectConv {
    /// Use it for evaluation batches of at most this many images (ROBUST_DIRECT_MAX_IMAGES;
    /// 0: off). Larger batches have enough columns for im2col + sgemm to run near peak.
    nonisolated(unsafe) static var maxImages: Int = {
        if let s = getenvString("ROBUST_DIRECT_MAX_IMAGES"), let v = Int(s), v >= 0 { return v }
        return 4
    }()

    /// Output channels (true, the default) or positions (ROBUST_DIRECT_LANES=positions) in the lanes.
    nonisolated(unsafe) static var channelLanes: Bool = getenvString("ROBUST_DIRECT_LANES") != "positions"

    /// Pack a single image's input on the workers, by channels (ROBUST_DIRECT_PACK=serial: on the
    /// calling thread, for comparison).
    nonisolated(unsafe) static var parallelPack: Bool = getenvString("ROBUST_DIRECT_PACK") != "serial"

    /// A single image on several workers: each worker packs the whole input into its own slot,
    /// inside the convolution's job (on), or the workers pack it together in a job of its own
    /// and each then reads the other's half (off). ROBUST_DIRECT_PRIVATE_PACK=0;
    /// `bench --ab private-pack`.
    nonisolated(unsafe) static var privatePack: Bool = getenvString("ROBUST_DIRECT_PRIVATE_PACK") != "0"

    static func applies(k: Int, stride: Int, pad: Int, n: Int) -> Bool {
        Kernels.avx2 && k == 3 && (stride == 1 || stride == 2) && pad == 1 && n <= maxImages
    }
}

extension Conv2d {
    /// y = conv(x) image by image, the output channels split over the workers; each worker
    /// then applies the epilogue (folded batch norm, residual, ReLU) to its own rows.
    ///
    /// With `shortcut` (a 1x1 convolution of the same input and stride, and its epilogue) and a
    /// single image split over workers, each worker also computes its rows of the shortcut
    /// (im2col of the strided input into its own workspace slot, a GEMM, the epilogue): the
    /// projection was a serial stretch of 6.6-7.7 us per stage at width 16, between two jobs.
    func forwardDirect(_ x: Tensor, _ g: ConvGeometry, epilogue: ChannelAffine?, residual: Tensor?,
                       shortcut: (Conv2d, ChannelAffine)? = nil) -> Tensor {
        let planeIn = g.h * g.w, planeOut = g.ho * g.wo
        let (c, h, wd, st) = (Int32(cin), Int32(g.h), Int32(g.w), Int32(g.stride))
        nonisolated(unsafe) let xpad = workspace.sharedBuffer(rk_conv3x3_packed_count(c, h, wd, st), for: .directPack)
        nonisolated(unsafe) let w = weight.value.data, xp = x.data, yp = output.data
        nonisolated(unsafe) let rp: UnsafeMutablePointer<Float>? = residual?.data
        let (cout, cols) = (self.cout, g.cols)
        let kk = 9 * cin
        let flopsPerImage = 2.0 * Double(cout * kk * planeOut)
        // The channel-lane kernel reads its filters laid out in blocks of 16 output channels,
        // made once per weight version.
        let channelLanes = DirectConv.channelLanes
        if channelLanes {
            let count = rk_conv3x3_cvec_weights_count(cout, c)
            if directVersion != weight.version || directW.count != count {
                directW.reshape([count])
                rk_conv3x3_cvec_weights(cout, c, w, directW.data)
                directVersion = weight.version
            }
        }
        nonisolated(unsafe) let wt = directW.data
        // Rows per block: the kernel's lanes (16 channels) or its register block (6 rows).
        let rows = channelLanes ? 16 : 6
        let blocks = (cout + rows - 1) / rows
        let parts = Int(flopsPerImage) < minParallelFlops ? 1 : min(Threads.count, blocks)
        let inBlocks = (cin + 15) / 16
        // A single image on several workers: each packs the whole input into its own slot inside
        // the convolution's job (DirectConv.privatePack), else the workers pack it together first.
        let privatePack = g.n == 1 && parts > 1 && DirectConv.privatePack
        let packCount = privatePack ? (Int(rk_conv3x3_packed_count(c, h, wd, st)) + 15) / 16 * 16 : 0
        // The shortcut inside this job (one image, several workers) or on its own.
        var fused: FusedShortcut?
        var slots: [UnsafeMutablePointer<Float>] = []
        if let (sc, ep) = shortcut, g.n == 1 && parts > 1 {
            precondition(sc.k == 1 && sc.pad == 0 && sc.stride == stride && sc.cin == cin, "shortcut \(sc.weight.name)")
            let sg = FusedShortcut.geometry(of: sc, g)
            slots = workspace.buffers(packCount + sg.rows * sg.cols, slots: parts)
            fused = FusedShortcut(conv: sc, epilogue: ep, x: x, geometry: sg, parts: parts, columns: slots.map { $0 + packCount })
        } else if let (sc, ep) = shortcut {
            sc.forward(x, mode: .eval, epilogue: ep)
        }
        if privatePack && slots.isEmpty { slots = workspace.buffers(packCount, slots: parts) }
        nonisolated(unsafe) let ownPacks = slots
        precondition(x.bands == nil || g.n == 1, "only a single image is stored by bands")
        // A single image stored by bands (RowBands: the end of a stage's band layers) is packed
        // from its bands; the pack is the layout the kernel reads either way.
        let xBands = x.bands.map { RowBands.CLayout($0, xp) }  // made once, read by every worker
        func pack(_ c0: Int, _ c1: Int, _ n: Int, into xpad: UnsafeMutablePointer<Float>) {
            if let xb = xBands {
                rk_conv3x3_pack_range_bands(xb.pointer, Int32(c0), Int32(c1), c, h, wd, st, xpad, Kernels.avx2 ? 1 : 0)
            } else {
                rk_conv3x3_pack_range(xp + n * planeIn, g.n * planeIn, Int32(c0), Int32(c1), c, h, wd, st, xpad,
                                      Kernels.avx2 ? 1 : 0)
            }
        }
        for n in 0..<g.n {
            Profiler.measure("conv.direct.pack") {
                if privatePack {
                    return  // inside the convolution's job below
                } else if parts > 1 && DirectConv.parallelPack {
                    // Each worker packs the channels it most likely wrote as the previous layer's
                    // output (the same split in blocks of 16), so only the packed copy crosses cores.
                    // Fewer blocks than workers (16 channels after a Winograd layer, which splits
                    // by rows anyway): plain channel ranges, or one worker packs alone while the
                    // other waits (measured: 7.7 us of 8.0 on one thread, width 16).
                    let unit = inBlocks >= parts ? 16 : 1
                    parallelFor(parts) { t in
                        let r = blockRange(t, of: parts, count: cin, block: unit)
                        if !r.isEmpty { pack(r.lowerBound, r.upperBound, n, into: xpad) }
                    }
                } else {
                    pack(0, cin, n, into: xpad)
                }
            }
            let prefetch = Kernels.weightPrefetch ? Kernels.directPrefetchDistance : 0
            Profiler.measure(epilogue == nil ? "conv.direct" : "conv.direct+bn", flops: flopsPerImage) {
                parallelFor(parts) { t in
                    let r = blockRange(t, of: parts, count: cout, block: rows), (r0, r1) = (r.lowerBound, r.upperBound)
                    if r.isEmpty { return }
                    let at = r0 * cols + n * planeOut
                    var xpad = xpad
                    if privatePack {
                        xpad = ownPacks[t]
                        pack(0, cin, n, into: xpad)
                    }
                    if channelLanes {
                        rk_conv3x3_cvec_avx2(r0, r1, c, h, wd, st, wt, xpad, yp + n * planeOut, cols, prefetch)
                    } else {
                        rk_conv3x3_avx2(r1 - r0, c, h, wd, st, w + r0 * kk, xpad, yp + at, cols)
                    }
                    epilogue?.apply(yp + at, rows: r1 - r0, firstRow: r0, columns: planeOut, ld: cols,
                                    residual: rp.map { $0 + at })
                    fused?.run(t)
                }
            }
        }
        return output
    }
}

/// A 1x1 strided convolution of a single image, its rows split over the workers of another
/// layer's job (Conv2d.forwardDirect's `shortcut`). Each worker gathers the strided input into
/// its own workspace slot, then multiplies its rows in blocks of 16 (as splitGemm does, so the
/// sums are those of the layer on its own).
struct FusedShortcut: @unchecked Sendable {
    /// Residual blocks hand their shortcut to conv1 (on) or run it on its own first (off).
    /// ROBUST_FUSED_SHORTCUT=0; `bench --ab fused-shortcut`.
    nonisolated(unsafe) static var enabled: Bool = getenvString("ROBUST_FUSED_SHORTCUT") != "0"

    let geometry: ConvGeometry, parts: Int, cout: Int
    let x: UnsafePointer<Float>, w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    let columns: [UnsafeMutablePointer<Float>]
    let epilogue: ChannelAffine
    /// The input's layout when stored by bands (then gathered row by row from the bands).
    let bands: RowBands?

    /// The shortcut's geometry on the input of the layer with geometry g.
    static func geometry(of conv: Conv2d, _ g: ConvGeometry) -> ConvGeometry {
        ConvGeometry(cin: g.cin, n: 1, h: g.h, w: g.w, k: 1, stride: conv.stride, pad: 0)
    }

    /// `columns`: worker t's im2col buffer of geometry.rows x geometry.cols floats.
    init(conv: Conv2d, epilogue: ChannelAffine, x: Tensor, geometry: ConvGeometry, parts: Int,
         columns: [UnsafeMutablePointer<Float>]) {
        self.geometry = geometry
        (self.parts, cout, self.epilogue, self.columns) = (parts, conv.cout, epilogue, columns)
        conv.output.reshape([conv.cout, 1, geometry.ho, geometry.wo])
        (self.x, w, y) = (UnsafePointer(x.data), UnsafePointer(conv.weight.value.data), conv.output.data)
        bands = x.bands
    }

    /// Worker t's rows.
    func run(_ t: Int) {
        let r = blockRange(t, of: parts, count: cout, block: 16), (r0, r1) = (r.lowerBound, r.upperBound)
        if r.isEmpty { return }
        let g = geometry, col = columns[t]
        if let b = bands {
            // col[ci][oy wo + ox] = x[ci][stride oy][stride ox], as im2col copies it
            let xm = UnsafeMutablePointer(mutating: x), avx2: Int32 = Kernels.avx2 ? 1 : 0
            for oy in 0..<g.ho {
                let (row, cs) = b.row(g.stride * oy, xm)
                for ci in 0..<g.cin {
                    rk_gather_strided(col + ci * g.cols + oy * g.wo, row + ci * cs, g.wo, Int32(g.stride), avx2)
                }
            }
        } else {
            im2col(g, x, channelStride: g.h * g.w, col, parallel: false)
        }
        BLAS.gemm(m: r1 - r0, n: g.cols, k: g.rows, a: w + r0 * g.rows, lda: g.rows, b: col, ldb: g.cols,
                  c: y + r0 * g.cols, ldc: g.cols)
        epilogue.apply(y + r0 * g.cols, rows: r1 - r0, firstRow: r0, columns: g.cols, ld: g.cols)
    }
}
