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

/* In place: r[i] lane j <- r[j] lane i. */
AVX2 INLINE void transpose8(__m256 *r) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20); r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20); r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31); r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31); r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* p[k] = pixel k (4 row + column) of `lanes` consecutive 4x4 planes 16 floats apart from src
 * (eight images of one channel, or eight channels of a single image); lanes past `lanes` are
 * zero. */
AVX2 INLINE void load_planes(const float *src, int lanes, __m256 *p) {
    __m256 *a = p, *b = p + 8;
    for (int l = 0; l < 8; l++) {
        a[l] = l < lanes ? _mm256_loadu_ps(src + 16 * l) : _mm256_setzero_ps();
        b[l] = l < lanes ? _mm256_loadu_ps(src + 16 * l + 8) : _mm256_setzero_ps();
    }
    transpose8(a);
    transpose8(b);
}

#endif
