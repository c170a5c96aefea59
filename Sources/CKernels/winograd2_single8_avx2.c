/* Winograd F(2x2, 3x3) for a single image's 8x8 planes (ResNet-18's third stage on 32x32
 * inputs at batch 1, 128 channels at width 32 and 256 at 64), with the output channels in the
 * vector lanes: winograd2_single4_avx2.c's scheme with 16 tiles instead of 4.
 *
 * Why: those layers ran on the direct kernel, 576 multiplies per filter and plane; F(2x2)
 * needs 256 (16 tiles of 16). The general Winograd path puts the tiles in the lanes and takes
 * OpenBLAS for 128 input channels, whose packing cost more than it saved here (1.08x slower
 * at width 32, Winograd.minTilesSmallGemm). Here the GEMM M[e] = U[e] V[e] of each of the 16
 * Winograd planes runs over 16 output channels in two vectors and six tiles broadcast at a
 * time: 12 FMAs per 2 filter loads and 6 broadcasts, as the direct kernel, which keeps one
 * plane's filters (cin x 64 bytes) in L1 for the three groups of tiles.
 *
 * Layouts: V[e][t][ci] (t = 4 tile row + tile column), M[e][t][co], filters as
 * rk_wino2_single4_filters lays them out, UB[e][co / 16][ci][co % 16]. Each worker transforms
 * the whole input (16 x 16 x cin floats) and computes its own output channels, so a layer is
 * one parallel job. */
#include "robust_kernels.h"

#if defined(__x86_64__)
#include "winograd2_single_ops.h"

AVX2 void rk_wino2_single8_input_avx2(const float *x, long cs, int cin, float *v) {
    const __m256 zero = _mm256_setzero_ps();
    for (int c0 = 0; c0 < cin; c0 += 8) {
        const int lanes = cin - c0 >= 8 ? 8 : cin - c0;
        /* the zero-padded 10x10 plane of 8 channels: d[i][j] = pixel (i - 1, j - 1) */
        __m256 d[10][10];
        for (int j = 0; j < 10; j++) d[0][j] = d[9][j] = zero;
        for (int i = 0; i < 8; i++) {
            __m256 r[8];
            for (int l = 0; l < 8; l++) r[l] = l < lanes ? _mm256_loadu_ps(x + (c0 + l) * cs + 8 * i) : zero;
            transpose8(r);  /* r[j]: pixel (i, j) of the 8 channels */
            d[i + 1][0] = d[i + 1][9] = zero;
            for (int j = 0; j < 8; j++) d[i + 1][j + 1] = r[j];
        }
        for (int t = 0; t < 16; t++) {  /* t = 4 tile row + tile column */
            __m256 o[16];
            tile_input(&d[2 * (t / 4)][2 * (t % 4)], 10, o);
            for (int e = 0; e < 16; e++) store_lanes(v + (e * 16L + t) * cin + c0, o[e], lanes);
        }
    }
}

AVX2 void rk_wino2_single8_gemm_avx2(const float *ub, const float *v, long cin, long cout, long co0, long co1, float *m,
                                     long prefetch) {
    const long blocks = cout / 16;
    for (long e = 0; e < 16; e++) {
        const float *ve = v + e * 16 * cin;
        for (long b = co0 / 16; b < co1 / 16; b++) {
            const float *w = ub + (e * blocks + b) * cin * 16;
            float *me = m + e * 16 * cout + 16 * b;
            /* the first group brings the block's filters in (prefetched); the others find them in L1 */
            gemm_tiles(6, cin, cout, w, ve, me, prefetch);
            gemm_tiles(6, cin, cout, w, ve + 6 * cin, me + 6 * cout, 0);
            gemm_tiles(4, cin, cout, w, ve + 12 * cin, me + 12 * cout, 0);
        }
    }
}

AVX2 void rk_wino2_single8_output_avx2(const float *m, long cout, int co0, int co1, float *y, long cs,
                                       const float *scale, const float *shift, const float *res, long rcs, int relu) {
    for (int c0 = co0; c0 < co1; c0 += 8) {
        const int lanes = co1 - c0 >= 8 ? 8 : co1 - c0;
        __m256 u[8][8];  /* u[row][column]: that output pixel of the 8 channels */
        for (int t = 0; t < 16; t++) {
            const int ty = t / 4, tx = t % 4;
            __m256 q[2][2];
            tile_output(m + t * cout + c0, 16 * cout, lanes, q);
            for (int a = 0; a < 2; a++)
                for (int k = 0; k < 2; k++) u[2 * ty + a][2 * tx + k] = q[a][k];
        }
        for (int oy = 0; oy < 8; oy++) {
            transpose8(u[oy]);  /* u[oy][l]: channel c0 + l's row oy */
            for (int l = 0; l < lanes; l++) {
                const int co = c0 + l;
                const __m256 sc = _mm256_set1_ps(scale ? scale[co] : 1), sh = _mm256_set1_ps(shift ? shift[co] : 0);
                const float *rr = res ? res + co * rcs + 8 * oy : NULL;
                _mm256_storeu_ps(y + co * cs + 8 * oy, epilogue(u[oy][l], scale, sc, sh, rr, relu));
            }
        }
    }
}

#else
#include <stdlib.h>
void rk_wino2_single8_input_avx2(const float *x, long cs, int cin, float *v) { abort(); }
void rk_wino2_single8_gemm_avx2(const float *ub, const float *v, long cin, long cout, long co0, long co1, float *m,
                                long prefetch) {
    abort();
}
void rk_wino2_single8_output_avx2(const float *m, long cout, int co0, int co1, float *y, long cs,
                                  const float *scale, const float *shift, const float *res, long rcs, int relu) {
    abort();
}
#endif
