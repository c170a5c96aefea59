/* F(4x4, 3x3)'s output-side arithmetic, shared by the row kernels (winograd4_avx2.c) and the
 * 4x4-plane kernels (winograd4_plane4_avx2.c); private, like avx2.h. */
#ifndef ROBUST_WINOGRAD4_OPS_H
#define ROBUST_WINOGRAD4_OPS_H
#include "avx2.h"

/* A^T m for six vectors. */
AVX2 INLINE void at6(__m256 m0, __m256 m1, __m256 m2, __m256 m3, __m256 m4, __m256 m5, __m256 *o) {
    const __m256 two = _mm256_set1_ps(2), four = _mm256_set1_ps(4), eight = _mm256_set1_ps(8);
    const __m256 a = _mm256_add_ps(m1, m2), b = _mm256_sub_ps(m1, m2);
    const __m256 c = _mm256_add_ps(m3, m4), d = _mm256_sub_ps(m3, m4);
    o[0] = _mm256_add_ps(_mm256_add_ps(m0, a), c);
    o[1] = _mm256_fmadd_ps(two, d, b);
    o[2] = _mm256_fmadd_ps(four, c, a);
    o[3] = _mm256_add_ps(_mm256_fmadd_ps(eight, d, b), m5);
}


/* A y for four vectors (one row or one column of a 4x4 gradient tile, eight tiles a vector):
 * the six values of the adjoint of at6, A = (A^T)^T:
 * (y0, y0+y1+y2+y3, y0-y1+y2-y3, y0+2y1+4y2+8y3, y0-2y1+4y2-8y3, y3). */
AVX2 INLINE void a6(__m256 y0, __m256 y1, __m256 y2, __m256 y3, __m256 *o) {
    const __m256 two = _mm256_set1_ps(2), four = _mm256_set1_ps(4), eight = _mm256_set1_ps(8);
    const __m256 p = _mm256_add_ps(y0, y2), q = _mm256_add_ps(y1, y3);
    const __m256 r = _mm256_fmadd_ps(four, y2, y0), s = _mm256_fmadd_ps(eight, y3, _mm256_mul_ps(two, y1));
    o[0] = y0;
    o[1] = _mm256_add_ps(p, q);
    o[2] = _mm256_sub_ps(p, q);
    o[3] = _mm256_add_ps(r, s);
    o[4] = _mm256_sub_ps(r, s);
    o[5] = y3;
}


#endif
