/* Winograd F(4x4, 3x3) transforms with AVX2 + FMA: the same arithmetic as Winograd4.swift
 * (its header has the matrices), eight tiles per vector instead of four.
 *
 * Lanes: eight consecutive tiles t0..t0+7 of one image, as two halves of four. Each half is
 * four neighbouring tiles of one tile row (the width is a multiple of 16, so a tile row has a
 * multiple of four tiles); the halves are the next four tiles of the same row, or the first
 * four of the next row when a row has only four (16x16 planes). 128-bit loads and stores per
 * half, joined into one 256-bit register, serve both cases. An image with an odd number of
 * half groups (4 tiles: a 4x16 plane) ends with one half alone, which repeats itself in the
 * upper lanes and stores only the lower ones.
 */
#include "robust_kernels.h"

#if defined(__x86_64__)
#include "avx2.h"
#include "winograd4_ops.h"
#include <string.h>

/* B^T p for six vectors (a row or a column of eight tiles). */
AVX2 static inline void bt6(__m256 p0, __m256 p1, __m256 p2, __m256 p3, __m256 p4, __m256 p5, __m256 *o) {
    const __m256 two = _mm256_set1_ps(2), four = _mm256_set1_ps(4), five = _mm256_set1_ps(5);
    const __m256 a = _mm256_fnmadd_ps(four, p2, p4);  /* p4 - 4 p2 */
    const __m256 b = _mm256_fnmadd_ps(four, p1, p3);  /* p3 - 4 p1 */
    const __m256 c = _mm256_sub_ps(p4, p2);
    const __m256 d = _mm256_mul_ps(two, _mm256_sub_ps(p3, p1));
    o[0] = _mm256_fmadd_ps(four, p0, _mm256_fnmadd_ps(five, p2, p4));  /* 4 p0 - 5 p2 + p4 */
    o[1] = _mm256_add_ps(a, b);
    o[2] = _mm256_sub_ps(a, b);
    o[3] = _mm256_add_ps(c, d);
    o[4] = _mm256_sub_ps(c, d);
    o[5] = _mm256_fmadd_ps(four, p1, _mm256_fnmadd_ps(five, p3, p5));  /* 4 p1 - 5 p3 + p5 */
}

/* Both entries below: image n's row r of channel ci is at x + ci * cs + n * is + (r - 4 ty0) * w
 * inside the band, at above + ci * acs + n * is just above it, at below + ci * bcs + n * is
 * just below. */
AVX2 static void wino4_input(const float *x, long cs, const float *above, long acs, const float *below, long bcs,
                             long is, int c0, int c1, int images, int h, int w, int ty0, int ty1, float *v, long ldv,
                             long ps, float *scratch) {
    const int tw = w / 4, th = h / 4, tpi = th * tw;
    /* Tile rows [ty0, ty1) read padded rows [4 ty0, 4 ty1 + 2): image rows 4 ty0 - 1 to 4 ty1,
     * clipped to the image (the rest is the zero padding). */
    const int r0 = 4 * ty0 - 1 < 0 ? 0 : 4 * ty0 - 1, r1 = 4 * ty1 + 1 > h ? h : 4 * ty1 + 1;
    const int tbeg = ty0 * tw, tend = ty1 * tw;
    (void)th;
    /* The zero-padded plane pad(r, c) = x[r-1][c-1] split by column phase:
     * pad(r, 4k+q) = q_q[r][k], rows rs apart. The six columns of the tile at tx are
     * q0[tx], q1[tx], q2[tx], q3[tx], q0[tx+1], q1[tx+1]. Rows 0 and h+1, q0[.][0] and
     * q1[.][tw] are the padding: zeroed here, never written below. */
    const long rs = tw + 1, phase = (long)(h + 2) * rs;
    float *q0 = scratch, *q1 = q0 + phase, *q2 = q1 + phase, *q3 = q2 + phase;
    memset(scratch, 0, sizeof(float) * 4 * phase);
    __m256 t[36], o[6];
    for (int ci = c0; ci < c1; ci++) {
        for (int n = 0; n < images; n++) {
            for (int r = r0; r < r1; r++) {
                const float *s = r < 4 * ty0 ? above + ci * acs + n * is
                               : r >= 4 * ty1 ? below + ci * bcs + n * is
                               : x + ci * cs + n * is + (long)(r - 4 * ty0) * w;
                const long row = (long)(r + 1) * rs;
                for (int k = 0; k < tw; k += 4) {  /* four tiles' columns: a 4x4 transpose */
                    __m128 a = _mm_loadu_ps(s + 4 * k), b = _mm_loadu_ps(s + 4 * k + 4);
                    __m128 c = _mm_loadu_ps(s + 4 * k + 8), d = _mm_loadu_ps(s + 4 * k + 12);
                    _MM_TRANSPOSE4_PS(a, b, c, d);
                    _mm_storeu_ps(q1 + row + k, a);
                    _mm_storeu_ps(q2 + row + k, b);
                    _mm_storeu_ps(q3 + row + k, c);
                    _mm_storeu_ps(q0 + row + k + 1, d);
                }
            }
            float *dst = v + ci * ldv + (long)n * tpi;
            for (int t0 = tbeg; t0 < tend; t0 += 8) {
                const int full = t0 + 8 <= tend, ta = t0, tb = full ? t0 + 4 : t0;
                const long ba = 4L * (ta / tw) * rs + ta % tw, bb = 4L * (tb / tw) * rs + tb % tw;
                for (int r = 0; r < 6; r++) {  /* d B, row r */
                    const long a = ba + r * rs, b = bb + r * rs;
                    bt6(load_halves(q0 + a, q0 + b), load_halves(q1 + a, q1 + b), load_halves(q2 + a, q2 + b),
                        load_halves(q3 + a, q3 + b), load_halves(q0 + a + 1, q0 + b + 1),
                        load_halves(q1 + a + 1, q1 + b + 1), t + 6 * r);
                }
                float *d = dst + t0;
                for (int j = 0; j < 6; j++) {  /* B^T (d B), column j: e = 6i + j */
                    bt6(t[j], t[6 + j], t[12 + j], t[18 + j], t[24 + j], t[30 + j], o);
                    if (full) {
                        for (int i = 0; i < 6; i++) _mm256_storeu_ps(d + (6 * i + j) * ps, o[i]);
                    } else {
                        for (int i = 0; i < 6; i++) _mm_storeu_ps(d + (6 * i + j) * ps, _mm256_castps256_ps128(o[i]));
                    }
                }
            }
        }
    }
}

AVX2 void rk_wino4_input_avx2(const float *x, long cs, int c0, int c1, int images, int h, int w,
                              int ty0, int ty1, float *v, long ldv, long ps, float *scratch) {
    /* One layout for all rows: the neighbours' rows are those of the same planes. */
    const float *above = ty0 > 0 ? x + (long)(4 * ty0 - 1) * w : NULL;
    const float *below = 4 * ty1 < h ? x + (long)(4 * ty1) * w : NULL;
    wino4_input(x + (long)(4 * ty0) * w, cs, above, cs, below, cs, (long)h * w, c0, c1, images, h, w, ty0, ty1, v,
                ldv, ps, scratch);
}

AVX2 void rk_wino4_input_rows_avx2(const float *x, long cs, const float *above, long acs, const float *below, long bcs,
                                   int c0, int c1, int h, int w, int ty0, int ty1, float *v, long ldv, long ps,
                                   float *scratch) {
    wino4_input(x, cs, above, acs, below, bcs, 0, c0, c1, 1, h, w, ty0, ty1, v, ldv, ps, scratch);
}

AVX2 static inline void wino4_output(const float *m, long ldm, long ps, int c0, int c1, int images, int h, int w,
                                     int ty0, int ty1, float *y, long cs, const float *scale, const float *shift,
                                     const float *res, long rcs, int relu) {
    const int tw = w / 4, th = h / 4, tpi = th * tw;
    const int tbeg = ty0 * tw, tend = ty1 * tw;
    (void)th;
    __m256 t[24], u[16];
    for (int co = c0; co < c1; co++) {
        const __m256 sc = _mm256_set1_ps(scale ? scale[co] : 1), sh = _mm256_set1_ps(shift ? shift[co] : 0);
        for (int n = 0; n < images; n++) {
            const float *src = m + co * ldm + (long)n * tpi;
            float *plane = y + co * cs + (long)n * h * w;
            const float *rplane = res ? res + co * rcs + (long)n * h * w : NULL;
            for (int t0 = tbeg; t0 < tend; t0 += 8) {
                const int full = t0 + 8 <= tend, ta = t0, tb = full ? t0 + 4 : t0;
                const float *p = src + t0;
                for (int i = 0; i < 6; i++) {  /* m A, row i */
                    __m256 e[6];
                    for (int j = 0; j < 6; j++) {
                        const float *q = p + (6 * i + j) * ps;
                        /* a lone half reads four floats only: the row may end there */
                        e[j] = full ? _mm256_loadu_ps(q) : _mm256_castps128_ps256(_mm_loadu_ps(q));
                    }
                    at6(e[0], e[1], e[2], e[3], e[4], e[5], t + 4 * i);
                }
                for (int l = 0; l < 4; l++) {  /* A^T (m A), column l: u[4k + l] = Y[k][l] */
                    __m256 yk[4];
                    at6(t[l], t[4 + l], t[8 + l], t[12 + l], t[16 + l], t[20 + l], yk);
                    for (int k = 0; k < 4; k++) u[4 * k + l] = yk[k];
                }
                const long offa = 4L * (ta / tw) * w + 4 * (ta % tw), offb = 4L * (tb / tw) * w + 4 * (tb % tw);
                for (int k = 0; k < 4; k++) {
                    /* Output row k of the tiles: Y[k][0..3] of each tile side by side, a 4x4
                     * transpose within each half (unpacks and shuffles stay in 128-bit lanes). */
                    const __m256 r0 = u[4 * k], r1 = u[4 * k + 1], r2 = u[4 * k + 2], r3 = u[4 * k + 3];
                    const __m256 l01 = _mm256_unpacklo_ps(r0, r1), h01 = _mm256_unpackhi_ps(r0, r1);
                    const __m256 l23 = _mm256_unpacklo_ps(r2, r3), h23 = _mm256_unpackhi_ps(r2, r3);
                    const __m256 s0 = _mm256_shuffle_ps(l01, l23, 0x44), s1 = _mm256_shuffle_ps(l01, l23, 0xEE);
                    const __m256 s2 = _mm256_shuffle_ps(h01, h23, 0x44), s3 = _mm256_shuffle_ps(h01, h23, 0xEE);
                    const long ra = offa + (long)k * w, rb = offb + (long)k * w;
                    _mm256_storeu_ps(plane + ra, epilogue(_mm256_permute2f128_ps(s0, s1, 0x20), scale, sc, sh,
                                                          rplane ? rplane + ra : NULL, relu));
                    _mm256_storeu_ps(plane + ra + 8, epilogue(_mm256_permute2f128_ps(s2, s3, 0x20), scale, sc, sh,
                                                              rplane ? rplane + ra + 8 : NULL, relu));
                    if (full) {
                        _mm256_storeu_ps(plane + rb, epilogue(_mm256_permute2f128_ps(s0, s1, 0x31), scale, sc, sh,
                                                              rplane ? rplane + rb : NULL, relu));
                        _mm256_storeu_ps(plane + rb + 8, epilogue(_mm256_permute2f128_ps(s2, s3, 0x31), scale, sc, sh,
                                                                  rplane ? rplane + rb + 8 : NULL, relu));
                    }
                }
            }
        }
    }
}

AVX2 void rk_wino4_output_avx2(const float *m, long ldm, long ps, int c0, int c1, int images, int h, int w,
                               int ty0, int ty1, float *y, long cs) {
    wino4_output(m, ldm, ps, c0, c1, images, h, w, ty0, ty1, y, cs, NULL, NULL, NULL, 0, 0);
}

AVX2 void rk_wino4_output_affine_avx2(const float *m, long ldm, long ps, int c0, int c1, int images, int h, int w,
                                      int ty0, int ty1, float *y, long cs, const float *scale, const float *shift,
                                      const float *res, long rcs, int relu) {
    wino4_output(m, ldm, ps, c0, c1, images, h, w, ty0, ty1, y, cs, scale, shift, res, rcs, relu);
}

/* Four columns of four neighbouring 4x4 tiles' row: 16 floats from p, transposed so that
 * c[l] holds column l of the four tiles. */
AVX2 static inline void columns4(const float *p, __m128 *c) {
    __m128 a = _mm_loadu_ps(p), b = _mm_loadu_ps(p + 4), d = _mm_loadu_ps(p + 8), e = _mm_loadu_ps(p + 12);
    _MM_TRANSPOSE4_PS(a, b, d, e);
    c[0] = a; c[1] = b; c[2] = d; c[3] = e;
}

AVX2 void rk_wino4_output_grad_avx2(const float *dy, long cs, int c0, int c1, int images, int h, int w,
                                    float *dm, long ldm, long ps) {
    const int tw = w / 4, tpi = (h / 4) * tw;
    __m256 t[24], o[6];
    for (int co = c0; co < c1; co++) {
        for (int n = 0; n < images; n++) {
            const float *plane = dy + co * cs + (long)n * h * w;
            float *dst = dm + co * ldm + (long)n * tpi;
            for (int t0 = 0; t0 < tpi; t0 += 8) {
                const int full = t0 + 8 <= tpi, ta = t0, tb = full ? t0 + 4 : t0;
                const float *ra = plane + 4L * (ta / tw) * w + 4 * (ta % tw);
                const float *rb = plane + 4L * (tb / tw) * w + 4 * (tb % tw);
                for (int k = 0; k < 4; k++) {  /* dY A^T, row k: t[6k + j] */
                    __m128 ca[4], cb[4];
                    columns4(ra + (long)k * w, ca);
                    if (full) columns4(rb + (long)k * w, cb); else { cb[0] = ca[0]; cb[1] = ca[1]; cb[2] = ca[2]; cb[3] = ca[3]; }
                    __m256 y[4];
                    for (int l = 0; l < 4; l++) y[l] = _mm256_insertf128_ps(_mm256_castps128_ps256(ca[l]), cb[l], 1);
                    a6(y[0], y[1], y[2], y[3], t + 6 * k);
                }
                float *d = dst + t0;
                for (int j = 0; j < 6; j++) {  /* A (dY A^T), column j: e = 6i + j */
                    a6(t[j], t[6 + j], t[12 + j], t[18 + j], o);
                    for (int i = 0; i < 6; i++) {
                        if (full) _mm256_storeu_ps(d + (6 * i + j) * ps, o[i]);
                        else _mm_storeu_ps(d + (6 * i + j) * ps, _mm256_castps256_ps128(o[i]));
                    }
                }
            }
        }
    }
}

#else  /* not x86-64: rk_cpu_has_avx2_fma() is 0 and these are never called */
#include <stdlib.h>
void rk_wino4_input_avx2(const float *x, long cs, int c0, int c1, int images, int h, int w,
                         int ty0, int ty1, float *v, long ldv, long ps, float *scratch) { abort(); }
void rk_wino4_output_avx2(const float *m, long ldm, long ps, int c0, int c1, int images, int h, int w,
                          int ty0, int ty1, float *y, long cs) { abort(); }
void rk_wino4_input_rows_avx2(const float *x, long cs, const float *above, long acs, const float *below, long bcs,
                              int c0, int c1, int h, int w, int ty0, int ty1, float *v, long ldv, long ps,
                              float *scratch) { abort(); }
void rk_wino4_output_grad_avx2(const float *dy, long cs, int c0, int c1, int images, int h, int w,
                               float *dm, long ldm, long ps) { abort(); }
void rk_wino4_output_affine_avx2(const float *m, long ldm, long ps, int c0, int c1, int images, int h, int w,
                                 int ty0, int ty1, float *y, long cs, const float *scale, const float *shift,
                                 const float *res, long rcs, int relu) { abort(); }
#endif
