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
}
