/* Winograd F(4x4, 3x3) on 4x4 planes (ResNet-18's last stage on 32x32 inputs), where a plane
 * is one tile: the lanes are eight images instead of eight tiles of a row.
 *
 * Why: those layers (128 channels at width 16, 512 at 64) took F(2x2, 3x3), 4 tiles of 16
 * multiplies per image; one 4x4 tile needs 36, 44% fewer GEMM multiplies, on the layers where
 * the GEMMs dominate (the transforms cost O(C) per pixel, the GEMMs O(C^2)). The row kernels
 * in winograd4_avx2.c need four tiles a row. Here each image's plane is 16 contiguous floats;
 * eight images' planes are transposed (two 8x8 transposes) so that vector k holds pixel k of
 * the eight images, and the 6x6 input tile's border is the zero padding (rows and columns 0
 * and 5), which the transform skips. Same arithmetic as the row kernels otherwise. */
#include "robust_kernels.h"

#if defined(__x86_64__)
#include "avx2.h"
#include "winograd4_ops.h"

/* B^T p for (0, p1, p2, p3, p4, 0): winograd4_avx2.c's bt6 with the padding's zeros. */
AVX2 static inline void bt6z(__m256 p1, __m256 p2, __m256 p3, __m256 p4, __m256 *o) {
    const __m256 two = _mm256_set1_ps(2), four = _mm256_set1_ps(4), five = _mm256_set1_ps(5);
    const __m256 a = _mm256_fnmadd_ps(four, p2, p4), b = _mm256_fnmadd_ps(four, p1, p3);
    const __m256 c = _mm256_sub_ps(p4, p2), d = _mm256_mul_ps(two, _mm256_sub_ps(p3, p1));
    o[0] = _mm256_fnmadd_ps(five, p2, p4);
    o[1] = _mm256_add_ps(a, b);
    o[2] = _mm256_sub_ps(a, b);
    o[3] = _mm256_add_ps(c, d);
    o[4] = _mm256_sub_ps(c, d);
    o[5] = _mm256_fnmadd_ps(five, p3, _mm256_mul_ps(four, p1));
}

AVX2 void rk_wino4_input_plane4_avx2(const float *x, long cs, int c0, int c1, int images, float *v, long ldv, long ps) {
    __m256 p[16], t[6][6], o[6];
    for (int ci = c0; ci < c1; ci++) {
        for (int n0 = 0; n0 < images; n0 += 8) {
            const int lanes = images - n0 >= 8 ? 8 : images - n0;
            load_planes(x + ci * cs + 16L * n0, lanes, p);
            /* d B, rows 1-4 of the padded tile (image rows 0-3); rows 0 and 5 are zero */
            for (int r = 0; r < 4; r++) bt6z(p[4 * r], p[4 * r + 1], p[4 * r + 2], p[4 * r + 3], t[r + 1]);
            float *d = v + ci * ldv + n0;
            for (int j = 0; j < 6; j++) {  /* B^T (d B), column j: e = 6i + j */
                bt6z(t[1][j], t[2][j], t[3][j], t[4][j], o);
                for (int i = 0; i < 6; i++) store_lanes(d + (6 * i + j) * ps, o[i], lanes);
            }
        }
    }
}

AVX2 void rk_wino4_output_plane4_avx2(const float *m, long ldm, long ps, int c0, int c1, int images, float *y, long cs,
                                      const float *scale, const float *shift, const float *res, long rcs, int relu) {
    __m256 t[6][4], u[16];
    for (int co = c0; co < c1; co++) {
        const __m256 sc = _mm256_set1_ps(scale ? scale[co] : 1), sh = _mm256_set1_ps(shift ? shift[co] : 0);
        for (int n0 = 0; n0 < images; n0 += 8) {
            const int lanes = images - n0 >= 8 ? 8 : images - n0;
            const float *src = m + co * ldm + n0;
            for (int i = 0; i < 6; i++) {  /* m A, row i */
                __m256 e[6];
                for (int j = 0; j < 6; j++) e[j] = load_lanes(src + (6 * i + j) * ps, lanes);
                at6(e[0], e[1], e[2], e[3], e[4], e[5], t[i]);
            }
            for (int l = 0; l < 4; l++) {  /* A^T (m A), column l: u[4k + l] = Y[k][l] */
                __m256 yk[4];
                at6(t[0][l], t[1][l], t[2][l], t[3][l], t[4][l], t[5][l], yk);
                for (int k = 0; k < 4; k++) u[4 * k + l] = yk[k];
            }
            transpose8(u);      /* u[l]: image l's pixels 0-7 */
            transpose8(u + 8);  /* u[8 + l]: its pixels 8-15 */
            for (int l = 0; l < lanes; l++) {
                float *o = y + co * cs + 16L * (n0 + l);
                const float *r = res ? res + co * rcs + 16L * (n0 + l) : NULL;
                for (int h = 0; h < 2; h++)
                    _mm256_storeu_ps(o + 8 * h, epilogue(u[8 * h + l], scale, sc, sh, r ? r + 8 * h : NULL, relu));
            }
        }
    }
}

AVX2 void rk_wino4_output_grad_plane4_avx2(const float *dy, long cs, int c0, int c1, int images, float *dm, long ldm,
                                           long ps) {
    __m256 p[16], t[4][6], o[6];
    for (int co = c0; co < c1; co++) {
        for (int n0 = 0; n0 < images; n0 += 8) {
            const int lanes = images - n0 >= 8 ? 8 : images - n0;
            load_planes(dy + co * cs + 16L * n0, lanes, p);
            for (int k = 0; k < 4; k++) a6(p[4 * k], p[4 * k + 1], p[4 * k + 2], p[4 * k + 3], t[k]);  /* dY A^T, row k */
            float *d = dm + co * ldm + n0;
            for (int j = 0; j < 6; j++) {  /* A (dY A^T), column j: e = 6i + j */
                a6(t[0][j], t[1][j], t[2][j], t[3][j], o);
                for (int i = 0; i < 6; i++) store_lanes(d + (6 * i + j) * ps, o[i], lanes);
            }
        }
    }
}

#else
#include <stdlib.h>
void rk_wino4_input_plane4_avx2(const float *x, long cs, int c0, int c1, int images, float *v, long ldv, long ps) { abort(); }
void rk_wino4_output_plane4_avx2(const float *m, long ldm, long ps, int c0, int c1, int images, float *y, long cs,
                                 const float *scale, const float *shift, const float *res, long rcs, int relu) { abort(); }
void rk_wino4_output_grad_plane4_avx2(const float *dy, long cs, int c0, int c1, int images, float *dm, long ldm,
                                      long ps) { abort(); }
#endif
