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

/* The first `lanes` of v stored at p (all eight: one vector store), and their load (the
 * rest zero): the tail of a run of tiles, filters or images that is not a multiple of 8. */
AVX2 INLINE void store_lanes(float *p, __m256 v, int lanes) {
    if (lanes == 8) { _mm256_storeu_ps(p, v); return; }
    float t[8];
    _mm256_storeu_ps(t, v);
    for (int l = 0; l < lanes; l++) p[l] = t[l];
}
AVX2 INLINE __m256 load_lanes(const float *p, int lanes) {
    if (lanes == 8) return _mm256_loadu_ps(p);
    float t[8] = {0};
    for (int l = 0; l < lanes; l++) t[l] = p[l];
    return _mm256_loadu_ps(t);
}

/* Evaluation's epilogue on one stored vector of the Winograd output transforms: v * scale +
 * shift (+ the residual at res), clamped at 0 if relu; nothing when scale is NULL. The same
 * float operations, in the same order, as RobustCore's ChannelAffine.apply (no FMA), so the
 * fused and unfused paths give identical outputs. */
AVX2 INLINE __m256 epilogue(__m256 v, const float *scale, __m256 sc, __m256 sh, const float *res, int relu) {
    if (!scale) return v;
    v = _mm256_add_ps(_mm256_mul_ps(v, sc), sh);
    if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res));
    return relu ? _mm256_max_ps(v, _mm256_setzero_ps()) : v;
}

#endif
