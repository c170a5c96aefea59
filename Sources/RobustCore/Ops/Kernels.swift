// Which hand-written vector kernels (CKernels, robust_kernels.h) this process uses.
//
// The Swift core compiles for baseline x86-64 (SSE2: no compiler flags in Package.swift), so its
// SIMD4/SIMD8 code runs on 128-bit registers. The C kernels carry their own AVX2+FMA target
// attribute and are called only when the CPU has those: one binary, the fast path where possible.
import CKernels

enum Kernels {
    /// The CPU and OS support AVX2 and FMA.
    static let cpuHasAVX2: Bool = rk_cpu_has_avx2_fma() != 0

    /// Use the AVX2 kernels. ROBUST_SIMD=sse keeps the portable Swift code, for comparison and
    /// for the tests, which run both.
    nonisolated(unsafe) static var avx2: Bool = cpuHasAVX2 && getenvString("ROBUST_SIMD") != "sse"

    /// Software prefetch of the filter streams that a single image reads once per pass from L3
    /// or memory: the direct kernel (conv3x3_cvec_avx2.c) and the single-image F(2x2) layers
    /// (winograd2_single4_avx2.c, winograd2_single8_avx2.c). A width-32 image reads about 11 MB of filters, and in this
    /// VM's slow phases, when a 16 MiB read takes 1.5-2x as long, the hardware prefetcher
    /// alone leaves the FMAs waiting. `bench --ab weight-prefetch`, single-image latency
    /// on/off in six runs, 2026-12-06: width 32 0.965-0.989, width 64 0.974-0.978, width 16
    /// 1.000-1.005 (bench/results/perf/ab-weight-prefetch-2026-12-06.txt).
    /// ROBUST_WEIGHT_PREFETCH=0 turns it off.
    nonisolated(unsafe) static var weightPrefetch: Bool = getenvString("ROBUST_WEIGHT_PREFETCH") != "0"
    /// Distances in floats, the best of those measured: the F(2x2) kernels stream 64 bytes (16
    /// floats) per input channel, so 512 is 2 KB or 32 channels ahead; the direct kernel 576
    /// bytes (144 floats) per input channel, so 1152 is 4.5 KB or 8 channels ahead. 256, 768,
    /// 1024, 2048 and 288, 576, 2304 (2, 4 and 16 channels) measured no better.
    static let single4PrefetchDistance = 512, directPrefetchDistance = 1152
}
