// Winograd F(2x2, 3x3) for a single image's 4x4 and 8x8 layers
// (CKernels/winograd2_single4_avx2.c, winograd2_single8_avx2.c).
//
// At batch 1 the last stage's stride-1 convolutions (4x4 planes) ran on the direct kernel,
// bound by its multiplies; the general Winograd path had only four 2x2 tiles for its lanes.
// This path puts 16 output channels in the lanes and broadcasts the tiles, with the filters
// transformed once per weight version into the order the kernel streams them. The third
// stage's 8x8 planes of 128 or more channels (widths 32 and 64) ran on the direct kernel too:
// the general path's OpenBLAS GEMMs cost more there (Winograd.minTilesSmallGemm).

import CKernels

enum WinogradSingle {
    /// The 4x4 planes. ROBUST_WINOGRAD_SINGLE4=0 keeps the direct kernel there (for
    /// comparison); `bench --ab single4`.
    nonisolated(unsafe) static var planes4: Bool = getenvString("ROBUST_WINOGRAD_SINGLE4") != "0"
    /// Up to this many channels (in and out). The filters take 16 x cin x cout floats: 1 MiB a
    /// layer at 128 channels (width 16), 4 MiB at 256, 16 MiB at 512.
    nonisolated(unsafe) static var maxChannels: Int = {
        if let s = getenvString("ROBUST_WINOGRAD_SINGLE4_MAX_CHANNELS"), let v = Int(s), v >= 0 { return v }
        return 256
    }()

    /// The 8x8 planes too (16 tiles). ROBUST_WINOGRAD_SINGLE8=0 keeps them on the direct
    /// kernel or the general path; `bench --ab single8`.
    nonisolated(unsafe) static var planes8: Bool = getenvString("ROBUST_WINOGRAD_SINGLE8") != "0"
    /// 8x8 planes of at least this many channels (in or out). Below it the general path's
    /// small-GEMM kernel, tiles in the lanes, does better: width 16's 64-channel layers
    /// measured 1.030-1.038x slower latency on this path (`bench --ab single8` with 0 here).
    nonisolated(unsafe) static var minChannels8: Int = {
        if let s = getenvString("ROBUST_WINOGRAD_SINGLE8_MIN_CHANNELS"), let v = Int(s), v >= 0 { return v }
        return 128
    }()

    static func applies(k: Int, stride: Int, pad: Int, n: Int, h: Int, w: Int, cin: Int, cout: Int) -> Bool {
        guard Winograd.enabled && Kernels.avx2 && k == 3 && stride == 1 && pad == 1 && n == 1 && h == w
            && cout % 16 == 0 && max(cin, cout) <= maxChannels else { return false }
        if h == 4 { return planes4 }
        return h == 8 && planes8 && max(cin, cout) >= minChannels8
    }
}

extension Conv2d {
    /// y = conv(x) for one image of 4x4 or 8x8 planes, then the epilogue (folded batch norm,
    /// residual, ReLU) in the output transform's stores. The workers split the output channels
    /// in blocks of 16; each transforms the whole input itself (16 x tiles x cin floats), so
    /// the layer is one parallel job.
    func forwardSingle(_ x: Tensor, _ g: ConvGeometry, epilogue: ChannelAffine?, residual: Tensor?) -> Tensor {
        let (cin, cout) = (self.cin, self.cout)
        let x = Conv2d.planar(x, unless: nil, into: planarInput)
        // The kernels read planar residuals (the network never gives this path banded ones,
        // but a caller may).
        let residual = residual.map { Conv2d.planar($0, unless: nil, into: planarResidual) }
        if winogradSingleVersion != weight.version || winogradSingleU.count != 16 * cout * cin {
            Profiler.measure("conv.winograd.filters") {
                let u = Tensor([16, cout, cin])
                Winograd.transformWeights(weight.value.data, cout: cout, cin: cin, tile: .two, into: u.data)
                winogradSingleU.reshape([16 * cout * cin])
                rk_wino2_single4_filters(u.data, cout, cin, winogradSingleU.data)
            }
            winogradSingleVersion = weight.version
        }
        let side = g.h, tiles = side * side / 4, plane = side * side
        output.reshape([cout, 1, side, side])
        let flops = 2.0 * Double(cout * 9 * cin * plane)
        let parts = Int(flops) < minParallelFlops ? 1 : min(Threads.count, cout / 16)
        let slots = workspace.buffers(16 * tiles * (cin + cout), slots: parts)
        let prefetch = Kernels.weightPrefetch ? Kernels.single4PrefetchDistance : 0
        nonisolated(unsafe) let (xp, ub, yp) = (x.data, winogradSingleU.data, output.data)
        nonisolated(unsafe) let rp: UnsafeMutablePointer<Float>? = residual?.data
        let scale = epilogue?.scale ?? [], shift = epilogue?.shift ?? [], relu: Int32 = epilogue?.relu == true ? 1 : 0
        let name = side == 4 ? "conv.winograd.single4" : "conv.winograd.single8"
        Profiler.measure(epilogue == nil ? name : name + "+bn", flops: flops) {
            scale.withUnsafeBufferPointer { sc in
                shift.withUnsafeBufferPointer { sh in
                    nonisolated(unsafe) let (s, f) = (epilogue == nil ? nil : sc.baseAddress, sh.baseAddress)
                    parallelFor(parts) { t in
                        let r = blockRange(t, of: parts, count: cout, block: 16)
                        if r.isEmpty { return }
                        let v = slots[t], m = slots[t] + 16 * tiles * cin
                        let res = rp.map { UnsafePointer($0) }
                        if side == 4 {
                            rk_wino2_single4_input_avx2(xp, 16, Int32(cin), v)
                            rk_wino2_single4_gemm_avx2(ub, v, cin, cout, r.lowerBound, r.upperBound, m, prefetch)
                            rk_wino2_single4_output_avx2(m, cout, Int32(r.lowerBound), Int32(r.upperBound), yp, 16,
                                                         s, f, res, 16, relu)
                        } else {
                            rk_wino2_single8_input_avx2(xp, 64, Int32(cin), v)
                            rk_wino2_single8_gemm_avx2(ub, v, cin, cout, r.lowerBound, r.upperBound, m, prefetch)
                            rk_wino2_single8_output_avx2(m, cout, Int32(r.lowerBound), Int32(r.upperBound), yp, 64,
                                                         s, f, res, 64, relu)
                        }
                    }
                }
            }
        }
        return output
    }
}
