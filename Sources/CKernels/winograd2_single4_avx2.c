/* Winograd F(2x2, 3x3) for a single image's 4x4 planes (ResNet-18's last stage on 32x32
 * inputs at batch 1), with the output channels in the vector lanes.
 *
 * Why: a single image's last-stage convolutions (128 channels at width 16) ran on the direct
 * kernel, bound by its multiplies: 4.7 MFLOP a layer, about a quarter of the single-image
 * latency. F(2x2) needs 2.25x fewer multiplies. The general Winograd path put the tiles in the
 * lanes, and a 4x4 plane has only four 2x2 tiles, so 12 of every 16 lanes idled (1.26x slower
 * than the direct kernel); F(4x4) makes it one tile and 2.4 MB of transformed filters a layer.
 * Here the GEMM M[e] = U[e] V[e] of each of the 16 Winograd planes runs with 16 output channels
 * in two vectors and the four tiles broadcast, 8 FMAs per 2 filter loads and 4 broadcasts,
 * over filters laid out in the order the kernel streams them (1 MB a layer at 128 channels).
 * The filters come from L3 or memory once a pass (4 MB a layer at 256 channels), and the
 * hardware prefetcher alone leaves the loads waiting: a software prefetch `prefetch` floats
 * ahead (see Kernels.weightPrefetch).
 *
 * Layouts: V[e][t][ci] (t = 2 tile row + tile column), M[e][t][co], filters
 * UB[e][co / 16][ci][co % 16]. Each worker transforms the whole input (2K floats at 128
 * channels) and computes its own output channels, so a layer is one parallel job. */
#include "robust_kernels.h"

void rk_wino2_single4_filters(const float *u, long cout, long cin, float *ub) {
    const long blocks = cout / 16;
    for (long e = 0; e < 16; e++)
        for (long co = 0; co < cout; co++)
            for (long ci = 0; ci < cin; ci++)
                ub[((e * blocks + co / 16) * cin + ci) * 16 + co % 16] = u[(e * cout + co) * cin + ci];
}

#if defined(__x86_64__)
#include "winograd2_single_ops.h"

AVX2 void rk_wino2_single4_input_avx2(const float *x, long cs, int cin, float *v) {
    (void)cs;  /* planes are 16 floats apart: a single image's channels */
    const __m256 zero = _mm256_setzero_ps();
    for (int c0 = 0; c0 < cin; c0 += 8) {
        const int lanes = cin - c0 >= 8 ? 8 : cin - c0;
        __m256 p[16];
        load_planes(x + 16L * c0, lanes, p);
        /* the zero-padded 6x6 plane: d[i][j] = pixel (i - 1, j - 1) */
        __m256 d[6][6];
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
                d[i][j] = (i >= 1 && i <= 4 && j >= 1 && j <= 4) ? p[4 * (i - 1) + (j - 1)] : zero;
        for (int t = 0; t < 4; t++) {  /* t = 2 tile row + tile column */
            __m256 o[16];
            tile_input(&d[2 * (t / 2)][2 * (t % 2)], 6, o);
            for (int e = 0; e < 16; e++) store_lanes(v + (e * 4L + t) * cin + c0, o[e], lanes);
        }
    }
}

AVX2 void rk_wino2_single4_gemm_avx2(const float *ub, const float *v, long cin, long cout, long co0, long co1, float *m,
                                     long prefetch) {
    const long blocks = cout / 16;
    for (long e = 0; e < 16; e++)
        for (long b = co0 / 16; b < co1 / 16; b++)
            gemm_tiles(4, cin, cout, ub + (e * blocks + b) * cin * 16, v + e * 4 * cin, m + e * 4 * cout + 16 * b, prefetch);
}

AVX2 void rk_wino2_single4_output_avx2(const float *m, long cout, int co0, int co1, float *y, long cs,
                                       const float *scale, const float *shift, const float *res, long rcs, int relu) {
    for (int c0 = co0; c0 < co1; c0 += 8) {
        const int lanes = co1 - c0 >= 8 ? 8 : co1 - c0;
        __m256 u[16];
        for (int t = 0; t < 4; t++) {
            const int ty = t / 2, tx = t % 2;
            __m256 q[2][2];
            tile_output(m + t * cout + c0, 4 * cout, lanes, q);
            for (int a = 0; a < 2; a++)
                for (int k = 0; k < 2; k++) u[(2 * ty + a) * 4 + 2 * tx + k] = q[a][k];
        }
        transpose8(u);      /* u[l]: channel c0 + l's pixels 0-7 */
        transpose8(u + 8);  /* u[8 + l]: its pixels 8-15 */
        for (int l = 0; l < lanes; l++) {
            const int co = c0 + l;
            const __m256 sc = _mm256_set1_ps(scale ? scale[co] : 1), sh = _mm256_set1_ps(shift ? shift[co] : 0);
            float *o = y + co * cs;
            const float *rr = res ? res + co * rcs : NULL;
            for (int h = 0; h < 2; h++)
                _mm256_storeu_ps(o + 8 * h, epilogue(u[8 * h + l], scale, sc, sh, rr ? rr + 8 * h : NULL, relu));
        }
    }
}

#else
#include <stdlib.h>
void rk_wino2_single4_input_avx2(const float *x, long cs, int cin, float *v) { abort(); }
void rk_wino2_single4_gemm_avx2(const float *ub, const float *v, long cin, long cout, long co0, long co1, float *m,
                                long prefetch) {
    abort();
}
void rk_wino2_single4_output_avx2(const float *m, long cout, int co0, int co1, float *y, long cs,
                                  const float *scale, const float *shift, const float *res, long rcs, int relu) {
    abort();
}
#endif
