/* Winograd filter transforms U = G g G^T with AVX2, eight filters a vector: the same
 * arithmetic as Winograd.swift (F(2x2, 3x3)) and Winograd4.swift (F(4x4, 3x3)), whose headers
 * have the matrices, except that 4x4's divisions by 6, 12 and 24 are multiplications by the
 * reciprocals (a division per value cost about as much as the rest of the transform).
 *
 * Why: a training step transforms every 3x3 filter twice (the forward pass and, flipped, the
 * input gradient), and the scalar code stored each filter's 16 or 36 values one by one, a
 * plane apart: 6.8 ms of a width-16 step of 130 ms. Here eight consecutive filters of the
 * output order are gathered (their taps are 9 floats apart, or further when flipped) and each
 * plane gets one 8-float store. The weight gradient's adjoint, dW = G^T dU G, is vectorized the
 * same way. */
#include "robust_kernels.h"

#if defined(__x86_64__)
#include "avx2.h"

/* The 3x3 taps of filters f0..f0+lanes-1 of the output order, as nine vectors (tap 3a + b). */
AVX2 static inline void gather_taps(const float *w, long cout, long cin, int flip, long f0, int lanes, __m256 *g) {
    int base[8];
    for (int l = 0; l < 8; l++) {
        const long f = f0 + (l < lanes ? l : 0);
        /* flipped: the output order is [cin][cout]; filter (co, ci) read with its taps reversed */
        base[l] = flip ? (int)(9 * ((f % cout) * cin + f / cout)) : (int)(9 * f);
    }
    const __m256i idx = _mm256_loadu_si256((const __m256i *)base);
    for (int k = 0; k < 9; k++) g[k] = _mm256_i32gather_ps(w + (flip ? 8 - k : k), idx, 4);
}

/* G (4x3) times three values: (g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2). */
AVX2 static inline void g2(__m256 g0, __m256 g1, __m256 g2v, __m256 *o) {
    const __m256 half = _mm256_set1_ps(0.5f);
    o[0] = g0;
    o[1] = _mm256_mul_ps(half, _mm256_add_ps(_mm256_add_ps(g0, g1), g2v));
    o[2] = _mm256_mul_ps(half, _mm256_add_ps(_mm256_sub_ps(g0, g1), g2v));
    o[3] = g2v;
}

/* G (6x3) times three values, the rows of Winograd4.swift's G. */
AVX2 static inline void g4(__m256 g0, __m256 g1, __m256 g2v, __m256 *o) {
    const __m256 quarter = _mm256_set1_ps(0.25f), sixth = _mm256_set1_ps(1.0f / 6);
    const __m256 twelfth = _mm256_set1_ps(1.0f / 12), r24 = _mm256_set1_ps(1.0f / 24);
    const __m256 a = _mm256_mul_ps(r24, g0), b = _mm256_mul_ps(twelfth, g1), c = _mm256_mul_ps(sixth, g2v);
    o[0] = _mm256_mul_ps(quarter, g0);
    o[1] = _mm256_mul_ps(_mm256_set1_ps(-1.0f / 6), _mm256_add_ps(_mm256_add_ps(g0, g1), g2v));
    o[2] = _mm256_mul_ps(_mm256_set1_ps(-1.0f / 6), _mm256_add_ps(_mm256_sub_ps(g0, g1), g2v));
    o[3] = _mm256_add_ps(_mm256_add_ps(a, b), c);
    o[4] = _mm256_add_ps(_mm256_sub_ps(a, b), c);
    o[5] = g2v;
}

AVX2 void rk_wino_filters_avx2(const float *w, long cout, long cin, int tile, int flip, long f0, long f1, float *u) {
    const long plane = cout * cin;
    const int r = tile == 4 ? 6 : 4;
    for (long f = f0; f < f1; f += 8) {
        const int lanes = f1 - f >= 8 ? 8 : (int)(f1 - f);
        __m256 g[9], t[3][6], col[6];
        gather_taps(w, cout, cin, flip, f, lanes, g);
        /* t = G g: column b of t from column b of g */
        for (int b = 0; b < 3; b++) {
            if (tile == 4) g4(g[b], g[3 + b], g[6 + b], t[b]); else g2(g[b], g[3 + b], g[6 + b], t[b]);
        }
        /* u = t G^T: row i of u from row i of t */
        for (int i = 0; i < r; i++) {
            if (tile == 4) g4(t[0][i], t[1][i], t[2][i], col); else g2(t[0][i], t[1][i], t[2][i], col);
            for (int j = 0; j < r; j++) store_lanes(u + (r * i + j) * plane + f, col[j], lanes);
        }
    }
}

/* G^T (3x4 for 2x2 tiles) times four values: (x0 + (x1 + x2) / 2, (x1 - x2) / 2, (x1 + x2) / 2 + x3). */
AVX2 static inline void gt2(const __m256 *x, __m256 *o) {
    const __m256 half = _mm256_set1_ps(0.5f);
    const __m256 s = _mm256_mul_ps(half, _mm256_add_ps(x[1], x[2]));
    o[0] = _mm256_add_ps(x[0], s);
    o[1] = _mm256_mul_ps(half, _mm256_sub_ps(x[1], x[2]));
    o[2] = _mm256_add_ps(s, x[3]);
}

/* G^T (3x6 for 4x4 tiles) times six values: the columns of G as rows,
 * (x0/4 - (x1+x2)/6 + (x3+x4)/24, (x2-x1)/6 + (x3-x4)/12, -(x1+x2)/6 + (x3+x4)/6 + x5). */
AVX2 static inline void gt4(const __m256 *x, __m256 *o) {
    const __m256 sixth = _mm256_set1_ps(1.0f / 6);
    const __m256 s12 = _mm256_mul_ps(sixth, _mm256_add_ps(x[1], x[2])), s34 = _mm256_add_ps(x[3], x[4]);
    o[0] = _mm256_fmadd_ps(_mm256_set1_ps(1.0f / 24), s34, _mm256_fmsub_ps(_mm256_set1_ps(0.25f), x[0], s12));
    o[1] = _mm256_fmadd_ps(_mm256_set1_ps(1.0f / 12), _mm256_sub_ps(x[3], x[4]), _mm256_mul_ps(sixth, _mm256_sub_ps(x[2], x[1])));
    o[2] = _mm256_add_ps(_mm256_fmsub_ps(sixth, s34, s12), x[5]);
}

AVX2 void rk_wino_filter_grad_avx2(const float *du, long cout, long cin, int tile, long f0, long f1, float *dw) {
    const long plane = cout * cin;
    const int r = tile == 4 ? 6 : 4;
    for (long f = f0; f < f1; f += 8) {
        const int lanes = f1 - f >= 8 ? 8 : (int)(f1 - f);
        __m256 t[6][3], x[6], o[3];
        /* T = G^T dU: column j of T from column j of dU */
        for (int j = 0; j < r; j++) {
            for (int i = 0; i < r; i++) {
                const float *p = du + (r * i + j) * plane + f;
                x[i] = load_lanes(p, lanes);
            }
            if (tile == 4) gt4(x, t[j]); else gt2(x, t[j]);
        }
        /* dW = T G: row a of dW from row a of T; out[3a + b] lane l is filter f + l's tap */
        float out[9][8];
        for (int a = 0; a < 3; a++) {
            for (int j = 0; j < r; j++) x[j] = t[j][a];
            if (tile == 4) gt4(x, o); else gt2(x, o);
            for (int b = 0; b < 3; b++) _mm256_storeu_ps(out[3 * a + b], o[b]);
        }
        for (int l = 0; l < lanes; l++)
            for (int k = 0; k < 9; k++) dw[9 * (f + l) + k] = out[k][l];
    }
}

#else
#include <stdlib.h>
void rk_wino_filters_avx2(const float *w, long cout, long cin, int tile, int flip, long f0, long f1, float *u) { abort(); }
void rk_wino_filter_grad_avx2(const float *du, long cout, long cin, int tile, long f0, long f1, float *dw) { abort(); }
#endif
