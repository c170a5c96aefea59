/* Winograd F(2x2, 3x3) transforms with AVX2: the arithmetic of Winograd.swift (its header has
 * the matrices), eight tiles per vector in two halves of four neighbouring tiles of a tile row,
 * as in winograd4_avx2.c (whose header explains the halves and the lone half at an image's end).
 * The width must be a multiple of 8, so that a tile row has a multiple of four tiles. */
#include "robust_kernels.h"

#if defined(__x86_64__)
#include "avx2.h"
#include <string.h>

/* Stores eight lanes, or the lower four when the half group is alone. */
AVX2 static inline void store8(float *p, __m256 v, int full) {
    if (full) _mm256_storeu_ps(p, v); else _mm_storeu_ps(p, _mm256_castps256_ps128(v));
}

/* Both entries below: image n's row r of channel ci is at x + ci * cs + n * is + (r - 2 ty0) * w
 * inside the band, at above + ci * acs + n * is just above it, at below + ci * bcs + n * is
 * just below (as winograd4_avx2.c's wino4_input). */
AVX2 static void wino2_input(const float *x, long cs, const float *above, long acs, const float *below, long bcs,
                             long is, int c0, int c1, int images, int h, int w, int ty0, int ty1, float *v, long ldv,
                             long ps, float *scratch) {
    const int tw = w / 2, th = h / 2, tpi = th * tw;
    /* Tile rows [ty0, ty1) read padded rows [2 ty0, 2 ty1 + 2): image rows 2 ty0 - 1 to 2 ty1. */
    const int r0 = 2 * ty0 - 1 < 0 ? 0 : 2 * ty0 - 1, r1 = 2 * ty1 + 1 > h ? h : 2 * ty1 + 1;
    const int tbeg = ty0 * tw, tend = ty1 * tw;
    (void)th;
    /* pad(r, 2k) = even[r][k], pad(r, 2k+1) = odd[r][k], pad(r, c) = x[r-1][c-1]: the four
     * columns of the tile at tx are even[tx], odd[tx], even[tx+1], odd[tx+1]. Rows 0 and h+1,
     * even[.][0] and odd[.][tw] are the padding, zeroed once. */
    const long rs = tw + 1;
    float *even = scratch, *odd = scratch + (long)(h + 2) * rs;
    memset(scratch, 0, sizeof(float) * 2 * (h + 2) * rs);
    for (int ci = c0; ci < c1; ci++) {
        for (int n = 0; n < images; n++) {
            for (int r = r0; r < r1; r++) {
                const float *s = r < 2 * ty0 ? above + ci * acs + n * is
                               : r >= 2 * ty1 ? below + ci * bcs + n * is
                               : x + ci * cs + n * is + (long)(r - 2 * ty0) * w;
                float *e = even + (r + 1) * rs, *o = odd + (r + 1) * rs;
                for (int k = 0; k < tw; k += 4) {
                    const __m128 a = _mm_loadu_ps(s + 2 * k), b = _mm_loadu_ps(s + 2 * k + 4);
                    _mm_storeu_ps(o + k, _mm_shuffle_ps(a, b, 0x88));      /* x columns 2k: pad 2k+1 */
                    _mm_storeu_ps(e + k + 1, _mm_shuffle_ps(a, b, 0xDD));  /* x columns 2k+1: pad 2k+2 */
                }
            }
            float *dst = v + ci * ldv + (long)n * tpi;
            for (int t0 = tbeg; t0 < tend; t0 += 8) {
                const int full = t0 + 8 <= tend, ta = t0, tb = full ? t0 + 4 : t0;
                const long ba = 2L * (ta / tw) * rs + ta % tw, bb = 2L * (tb / tw) * rs + tb % tw;
                __m256 d[4][4];
                for (int r = 0; r < 4; r++) {  /* d B, row r */
                    const long a = ba + r * rs, b = bb + r * rs;
                    const __m256 p0 = load_halves(even + a, even + b), p1 = load_halves(odd + a, odd + b);
                    const __m256 p2 = load_halves(even + a + 1, even + b + 1), p3 = load_halves(odd + a + 1, odd + b + 1);
                    d[r][0] = _mm256_sub_ps(p0, p2);
                    d[r][1] = _mm256_add_ps(p1, p2);
                    d[r][2] = _mm256_sub_ps(p2, p1);
                    d[r][3] = _mm256_sub_ps(p1, p3);
                }
                float *o = dst + t0;
                for (int j = 0; j < 4; j++) {  /* B^T (d B): e = 4i + j */
                    store8(o + j * ps, _mm256_sub_ps(d[0][j], d[2][j]), full);
                    store8(o + (4 + j) * ps, _mm256_add_ps(d[1][j], d[2][j]), full);
                    store8(o + (8 + j) * ps, _mm256_sub_ps(d[2][j], d[1][j]), full);
                    store8(o + (12 + j) * ps, _mm256_sub_ps(d[1][j], d[3][j]), full);
                }
            }
        }
    }
}

AVX2 void rk_wino2_input_avx2(const float *x, long cs, int c0, int c1, int images, int h, int w,
                              int ty0, int ty1, float *v, long ldv, long ps, float *scratch) {
    const float *above = ty0 > 0 ? x + (long)(2 * ty0 - 1) * w : NULL;
    const float *below = 2 * ty1 < h ? x + (long)(2 * ty1) * w : NULL;
    wino2_input(x + (long)(2 * ty0) * w, cs, above, cs, below, cs, (long)h * w, c0, c1, images, h, w, ty0, ty1, v,
                ldv, ps, scratch);
}

AVX2 void rk_wino2_input_rows_avx2(const float *x, long cs, const float *above, long acs, const float *below, long bcs,
                                   int c0, int c1, int h, int w, int ty0, int ty1, float *v, long ldv, long ps,
                                   float *scratch) {
    wino2_input(x, cs, above, acs, below, bcs, 0, c0, c1, 1, h, w, ty0, ty1, v, ldv, ps, scratch);
}

AVX2 static inline void wino2_output(const float *m, long ldm, long ps, int c0, int c1, int images, int h, int w,
                                     int ty0, int ty1, float *y, long cs, const float *scale, const float *shift,
                                     const float *res, long rcs, int relu) {
    const int tw = w / 2, th = h / 2, tpi = th * tw;
    const int tbeg = ty0 * tw, tend = ty1 * tw;
    (void)th;
    for (int co = c0; co < c1; co++) {
        const __m256 sc = _mm256_set1_ps(scale ? scale[co] : 1), sh = _mm256_set1_ps(shift ? shift[co] : 0);
        for (int n = 0; n < images; n++) {
            const float *src = m + co * ldm + (long)n * tpi;
            float *plane = y + co * cs + (long)n * h * w;
            const float *rplane = res ? res + co * rcs + (long)n * h * w : NULL;
            for (int t0 = tbeg; t0 < tend; t0 += 8) {
                const int full = t0 + 8 <= tend, ta = t0, tb = full ? t0 + 4 : t0;
                const float *p = src + t0;
                __m256 s[4][2];
                for (int i = 0; i < 4; i++) {  /* m A, row i */
                    __m256 e[4];
                    for (int j = 0; j < 4; j++) {
                        const float *q = p + (4 * i + j) * ps;
                        e[j] = full ? _mm256_loadu_ps(q) : _mm256_castps128_ps256(_mm_loadu_ps(q));
                    }
                    s[i][0] = _mm256_add_ps(_mm256_add_ps(e[0], e[1]), e[2]);
                    s[i][1] = _mm256_sub_ps(_mm256_sub_ps(e[1], e[2]), e[3]);
                }
                /* A^T (m A): the tiles' output rows 0 and 1, columns 0 and 1 */
                const __m256 y00 = _mm256_add_ps(_mm256_add_ps(s[0][0], s[1][0]), s[2][0]);
                const __m256 y01 = _mm256_add_ps(_mm256_add_ps(s[0][1], s[1][1]), s[2][1]);
                const __m256 y10 = _mm256_sub_ps(_mm256_sub_ps(s[1][0], s[2][0]), s[3][0]);
                const __m256 y11 = _mm256_sub_ps(_mm256_sub_ps(s[1][1], s[2][1]), s[3][1]);
                const long ra = 2L * (ta / tw) * w + 2 * (ta % tw), rb = 2L * (tb / tw) * w + 2 * (tb % tw);
                /* each tile's two columns side by side: unpacks interleave within 128-bit lanes */
                const __m256 l0 = _mm256_unpacklo_ps(y00, y01), h0 = _mm256_unpackhi_ps(y00, y01);
                const __m256 l1 = _mm256_unpacklo_ps(y10, y11), h1 = _mm256_unpackhi_ps(y10, y11);
#define RES(o) (rplane ? rplane + (o) : NULL)
                _mm256_storeu_ps(plane + ra, epilogue(_mm256_permute2f128_ps(l0, h0, 0x20), scale, sc, sh, RES(ra), relu));
                _mm256_storeu_ps(plane + ra + w, epilogue(_mm256_permute2f128_ps(l1, h1, 0x20), scale, sc, sh, RES(ra + w), relu));
                if (full) {
                    _mm256_storeu_ps(plane + rb, epilogue(_mm256_permute2f128_ps(l0, h0, 0x31), scale, sc, sh, RES(rb), relu));
                    _mm256_storeu_ps(plane + rb + w, epilogue(_mm256_permute2f128_ps(l1, h1, 0x31), scale, sc, sh, RES(rb + w), relu));
                }
#undef RES
            }
        }
    }
}

AVX2 void rk_wino2_output_avx2(const float *m, long ldm, long ps, int c0, int c1, int images, int h, int w,
                               int ty0, int ty1, float *y, long cs) {
    wino2_output(m, ldm, ps, c0, c1, images, h, w, ty0, ty1, y, cs, NULL, NULL, NULL, 0, 0);
}

AVX2 void rk_wino2_output_affine_avx2(const float *m, long ldm, long ps, int c0, int c1, int images, int h, int w,
                                      int ty0, int ty1, float *y, long cs, const float *scale, const float *shift,
                                      const float *res, long rcs, int relu) {
    wino2_output(m, ldm, ps, c0, c1, images, h, w, ty0, ty1, y, cs, scale, shift, res, rcs, relu);
}

AVX2 void rk_wino2_output_grad_avx2(const float *dy, long cs, int c0, int c1, int images, int h, int w,
                                    float *dm, long ldm, long ps) {
    const int tw = w / 2, th = h / 2, tpi = th * tw;
    const __m256 sign = _mm256_set1_ps(-0.0f);  /* negation flips the sign bit, as Swift's -q does */
    for (int co = c0; co < c1; co++) {
        for (int n = 0; n < images; n++) {
            const float *plane = dy + co * cs + (long)n * h * w;
            float *dst = dm + co * ldm + (long)n * tpi;
            for (int t0 = 0; t0 < tpi; t0 += 8) {
                const int full = t0 + 8 <= tpi, ta = t0, tb = full ? t0 + 4 : t0;
                const float *ra = plane + 2L * (ta / tw) * w + 2 * (ta % tw);
                const float *rb = plane + 2L * (tb / tw) * w + 2 * (tb % tw);
                /* the tiles' gradient rows 0 and 1, split into even and odd columns */
                const __m256 a0 = load_halves(ra, rb), a1 = load_halves(ra + 4, rb + 4);
                const __m256 b0 = load_halves(ra + w, rb + w), b1 = load_halves(ra + w + 4, rb + w + 4);
                const __m256 y00 = _mm256_shuffle_ps(a0, a1, 0x88), y01 = _mm256_shuffle_ps(a0, a1, 0xDD);
                const __m256 y10 = _mm256_shuffle_ps(b0, b1, 0x88), y11 = _mm256_shuffle_ps(b0, b1, 0xDD);
                /* A dY A^T, A = [[1,0],[1,1],[1,-1],[0,-1]]: rows i (p, q), then columns
                 * (p, p + q, p - q, -q) */
                const __m256 p[4] = {y00, _mm256_add_ps(y00, y10), _mm256_sub_ps(y00, y10), _mm256_xor_ps(y10, sign)};
                const __m256 q[4] = {y01, _mm256_add_ps(y01, y11), _mm256_sub_ps(y01, y11), _mm256_xor_ps(y11, sign)};
                float *o = dst + t0;
                for (int i = 0; i < 4; i++) {
                    store8(o + (4 * i) * ps, p[i], full);
                    store8(o + (4 * i + 1) * ps, _mm256_add_ps(p[i], q[i]), full);
                    store8(o + (4 * i + 2) * ps, _mm256_sub_ps(p[i], q[i]), full);
                    store8(o + (4 * i + 3) * ps, _mm256_xor_ps(q[i], sign), full);
                }
            }
        }
    }
}

#else  /* not x86-64: never called (rk_cpu_has_avx2_fma() is 0) */
#include <stdlib.h>
void rk_wino2_input_avx2(const float *x, long cs, int c0, int c1, int images, int h, int w,
                         int ty0, int ty1, float *v, long ldv, long ps, float *scratch) { abort(); }
void rk_wino2_output_avx2(const float *m, long ldm, long ps, int c0, int c1, int images, int h, int w,
                          int ty0, int ty1, float *y, long cs) { abort(); }
void rk_wino2_input_rows_avx2(const float *x, long cs, const float *above, long acs, const float *below, long bcs,
                              int c0, int c1, int h, int w, int ty0, int ty1, float *v, long ldv, long ps,
                              float *scratch) { abort(); }
void rk_wino2_output_grad_avx2(const float *dy, long cs, int c0, int c1, int images, int h, int w,
                               float *dm, long ldm, long ps) { abort(); }
void rk_wino2_output_affine_avx2(const float *m, long ldm, long ps, int c0, int c1, int images, int h, int w,
                                 int ty0, int ty1, float *y, long cs, const float *scale, const float *shift,
                                 const float *res, long rcs, int relu) { abort(); }
#endif
