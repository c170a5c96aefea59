/* What the AVX2 kernels of this target share (private: not under include/). Each function
 * that uses 256-bit instructions carries the AVX2 attribute; the rest of the binary stays
 * baseline x86-64 (robust_kernels.h). */
#ifndef ROBUST_KERNELS_AVX2_H
#define ROBUST_KERNELS_AVX2_H
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

/* Four floats from a and four from b, as the lower and upper halves of one vector: the two
 * half groups of four tiles in the Winograd kernels. */
AVX2 INLINE __m256 load_halves(const float *a, const float *b) {
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(a)), _mm_loadu_ps(b), 1);
}

#endif
