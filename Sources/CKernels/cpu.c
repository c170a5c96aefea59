/* Run-time detection of AVX2 and FMA (robust_kernels.h). */
#include "robust_kernels.h"

/* x86-64 only: the kernels themselves are built for x86-64 alone (elsewhere they are stubs). */
#if defined(__x86_64__)
#include <cpuid.h>

int rk_cpu_has_avx2_fma(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!(fma && osxsave && avx)) return 0;
    /* The OS must save the YMM registers on a context switch: XCR0 bits 1 (SSE) and 2 (AVX). */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 5) & 1;  /* AVX2 */
}
#else
int rk_cpu_has_avx2_fma(void) { return 0; }
#endif
