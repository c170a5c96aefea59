/* F(2x2, 3x3) for a single image with the output channels in the lanes: the per-tile
 * transforms and the GEMM's register block, shared by the 4x4-plane and 8x8-plane kernels
 * (winograd2_single4_avx2.c, winograd2_single8_avx2.c); private, like avx2.h. */
#ifndef ROBUST_WINOGRAD2_SINGLE_OPS_H
#define ROBUST_WINOGRAD2_SINGLE_OPS_H
#include "avx2.h"

/* (a0 - a2, a1 + a2, a2 - a1, a1 - a3): B^T applied to four values (and d B to a row). */
AVX2 INLINE void bt4(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 *o) {
    o[0] = _mm256_sub_ps(a0, a2);
    o[1] = _mm256_add_ps(a1, a2);
    o[2] = _mm256_sub_ps(a2, a1);
    o[3] = _mm256_sub_ps(a1, a3);
}

/* V = B^T d B for the 4x4 patch at d (rows ld vectors apart): o[e], e = 4 i + j. */
AVX2 INLINE void tile_input(const __m256 *d, int ld, __m256 *o) {
    __m256 r[4][4], c[4];
    for (int i = 0; i < 4; i++) bt4(d[i * ld], d[i * ld + 1], d[i * ld + 2], d[i * ld + 3], r[i]);  /* d B, row i */
    for (int j = 0; j < 4; j++) {  /* B^T (d B), column j */
        bt4(r[0][j], r[1][j], r[2][j], r[3][j], c);
        for (int i = 0; i < 4; i++) o[4 * i + j] = c[i];
    }
}

/* Y = A^T M A for one tile of `lanes` output channels: M's plane e at mt + e es; y[row][column]. */
AVX2 INLINE void tile_output(const float *mt, long es, int lanes, __m256 y[2][2]) {
    __m256 r[4][2];
    for (int i = 0; i < 4; i++) {  /* M A, row i */
        __m256 q[4];
        for (int j = 0; j < 4; j++) q[j] = load_lanes(mt + (4 * i + j) * es, lanes);
        r[i][0] = _mm256_add_ps(_mm256_add_ps(q[0], q[1]), q[2]);
        r[i][1] = _mm256_sub_ps(_mm256_sub_ps(q[1], q[2]), q[3]);
    }
    for (int k = 0; k < 2; k++) {  /* A^T (M A), column k */
        y[0][k] = _mm256_add_ps(_mm256_add_ps(r[0][k], r[1][k]), r[2][k]);
        y[1][k] = _mm256_sub_ps(_mm256_sub_ps(r[1][k], r[2][k]), r[3][k]);
    }
}

/* M[e][t] for T <= 6 tiles (rows cin apart at ve, cout apart at me) and one block of 16 output
 * channels (filters w, 16 floats an input channel): T broadcasts and 2T FMAs per 2 filter loads,
 * prefetching the filter stream `prefetch` floats ahead when it is not 0. */
AVX2 INLINE void gemm_tiles(int T, long cin, long cout, const float *w, const float *ve, float *me, long prefetch) {
    __m256 c[6][2];
    for (int t = 0; t < T; t++) c[t][0] = c[t][1] = _mm256_setzero_ps();
    for (long ci = 0; ci < cin; ci++) {
        /* a step reads one 64-byte line of filters: prefetch one line, the same distance ahead */
        if (prefetch) _mm_prefetch((const char *)(w + 16 * ci + prefetch), _MM_HINT_T0);
        const __m256 w0 = _mm256_loadu_ps(w + 16 * ci), w1 = _mm256_loadu_ps(w + 16 * ci + 8);
        for (int t = 0; t < T; t++) {
            const __m256 x = _mm256_broadcast_ss(ve + t * cin + ci);
            c[t][0] = _mm256_fmadd_ps(w0, x, c[t][0]);
            c[t][1] = _mm256_fmadd_ps(w1, x, c[t][1]);
        }
    }
    for (int t = 0; t < T; t++) {
        _mm256_storeu_ps(me + t * cout, c[t][0]);
        _mm256_storeu_ps(me + t * cout + 8, c[t][1]);
    }
}

#endif
