/* Stride-2 gather and scatter-add for im2col/col2im rows, and rk_gather_strided, the one
 * place that picks the vector gather or the scalar loop (robust_kernels.h): the scalar loops
 * compile to one element at a time; here eight at a time, even elements split off and back
 * with in-lane shuffles and a cross-lane permute. */
#include "robust_kernels.h"

void rk_gather_strided(float *dst, const float *src, long count, int stride, int use_avx2) {
#if defined(__x86_64__)
    if (stride == 2 && use_avx2) {
        rk_gather_stride2_avx2(dst, src, count);
        return;
    }
#endif
    for (long i = 0; i < count; i++) dst[i] = src[i * stride];
}

void rk_split_parity(const float *src, long n, float *even, long ne, float *odd, long no, int use_avx2) {
#if defined(__x86_64__)
    if (use_avx2) {
        rk_split_parity_avx2(src, n, even, ne, odd, no);
        return;
    }
#endif
    for (long j = 0; j < ne; j++) even[j] = src[2 * j];
    for (long j = 0; j < no; j++) odd[j] = src[2 * j + 1];
}

#if defined(__x86_64__)
#include "avx2.h"

AVX2 void rk_split_parity_avx2(const float *src, long n, float *even, long ne, float *odd, long no) {
    long j = 0;
    /* both outputs take a full step while it reads inside the n elements and writes inside
     * both counts */
    for (; 2 * j + 16 <= n && j + 8 <= ne && j + 8 <= no; j += 8) {
        const __m256 a = _mm256_loadu_ps(src + 2 * j), b = _mm256_loadu_ps(src + 2 * j + 8);
        /* per 128-bit lane (a0 a2 b0 b2 | a4 a6 b4 b6), then 64-bit blocks in order 0 2 1 3 */
        const __m256 e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xDD);
        _mm256_storeu_ps(even + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8)));
        _mm256_storeu_ps(odd + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xD8)));
    }
    for (; 2 * j + 8 <= n && j + 4 <= ne && j + 4 <= no; j += 4) {
        const __m128 a = _mm_loadu_ps(src + 2 * j), b = _mm_loadu_ps(src + 2 * j + 4);
        _mm_storeu_ps(even + j, _mm_shuffle_ps(a, b, 0x88));
        _mm_storeu_ps(odd + j, _mm_shuffle_ps(a, b, 0xDD));
    }
    for (long k = j; k < ne; k++) even[k] = src[2 * k];
    for (long k = j; k < no; k++) odd[k] = src[2 * k + 1];
}

AVX2 void rk_gather_stride2_avx2(float *dst, const float *src, long count) {
    long i = 0;
    /* reads src[2i .. 2i+15], of which the last is never needed: strictly inside the
     * elements the scalar loop reads (up to src[2 count - 2]) while i + 8 < count */
    for (; i + 8 < count; i += 8) {
        const __m256 a = _mm256_loadu_ps(src + 2 * i), b = _mm256_loadu_ps(src + 2 * i + 8);
        /* per 128-bit lane (a0 a2 b0 b2 | a4 a6 b4 b6), then 64-bit blocks in order 0 2 1 3 */
        const __m256 e = _mm256_shuffle_ps(a, b, 0x88);
        _mm256_storeu_ps(dst + i, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8)));
    }
    for (; i < count; i++) dst[i] = src[2 * i];
}

AVX2 void rk_scatter_add_stride2_avx2(float *dst, const float *src, long count) {
    const __m256 zero = _mm256_setzero_ps();
    long i = 0;
    /* rewrites dst[2i .. 2i+15] (the odd ones plus zero); strictly inside the row while
     * i + 8 < count, so an element past the last even one (another thread's, perhaps) is
     * never touched */
    for (; i + 8 < count; i += 8) {
        const __m256 s = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_loadu_ps(src + i)), 0xD8));
        /* s = (s0 s1 s4 s5 | s2 s3 s6 s7): unpacks with zero give (s0 0 s1 0 s2 0 s3 0), (s4 0 ... s7 0) */
        const __m256 lo = _mm256_unpacklo_ps(s, zero), hi = _mm256_unpackhi_ps(s, zero);
        _mm256_storeu_ps(dst + 2 * i, _mm256_add_ps(_mm256_loadu_ps(dst + 2 * i), lo));
        _mm256_storeu_ps(dst + 2 * i + 8, _mm256_add_ps(_mm256_loadu_ps(dst + 2 * i + 8), hi));
    }
    for (; i < count; i++) dst[2 * i] += src[i];
}

#else
#include <stdlib.h>
void rk_split_parity_avx2(const float *src, long n, float *even, long ne, float *odd, long no) { abort(); }
void rk_gather_stride2_avx2(float *dst, const float *src, long count) { abort(); }
void rk_scatter_add_stride2_avx2(float *dst, const float *src, long count) { abort(); }
#endif
