/* Direct 3x3 convolution (padding 1, stride 1 or 2) of one image: the convolutions of
 * single-image inference on 8x8 and 4x4 planes and the stride-2 ones, where im2col wrote a
 * matrix nine times the input for a GEMM of only 16-256 columns (robust_kernels.h).
 *
 * Stride 1: the input is copied once into a zero-bordered plane whose rows are w + 1 floats
 * apart: the zero column after a row is also the left border of the next row, so every
 * kernel tap (ky, kx) becomes one flat shift ky (w + 1) + kx of the output position
 * p = y (w + 1) + x. The convolution is then a GEMM whose B rows are the shifted input
 * itself: nothing is expanded. Positions with x = w (the border column) are computed and
 * dropped: 1/(w + 1) of the work (20% at 4x4, 11% at 8x8).
 * Stride 2: the same on the four parity planes of the padded input (even/odd rows x even/odd
 * columns, rows wo + 1 apart): tap (ky, kx) reads plane (ky mod 2, kx mod 2) at row
 * oy + ky/2, column ox + kx/2, again one flat shift.
 * The GEMM block is the small-GEMM kernel's: 6 output channels x 16 positions in 12
 * accumulators, 2 loads and 6 broadcasts (the weights, straight from [cout][cin][3][3]) for
 * 12 FMAs. A block of 6 weight rows (6 cin 9 floats, 27 KiB at cin = 128) stays in L1 while
 * it passes over every position.
 * (Measured against three column-shifted copies per row parity, which waste no position: 4x4
 * planes gained 15% in the GEMM and lost it in the copying; 16x16 and larger lost 30-45%, the
 * copies being three times the data the taps stream through.) */
#include "robust_kernels.h"
#include <string.h>

/* Output size, row pitch, floats per channel. */
typedef struct { long ho, wo, wq, sub, chan; } geom;

static geom geometry(int h, int w, int stride) {
    geom g;
    g.ho = (h - 1) / stride + 1;
    g.wo = (w - 1) / stride + 1;
    if (stride == 1) {
        g.wq = w + 1;
        g.sub = (long)(h + 2) * g.wq + 1;
        g.chan = g.sub;
    } else {
        g.wq = g.wo + 1;
        g.sub = (g.ho + 1) * g.wq;
        g.chan = 4 * g.sub;
    }
    return g;
}

long rk_conv3x3_packed_count(int cin, int h, int w, int stride) { return cin * geometry(h, w, stride).chan + 16; }

void rk_conv3x3_pack(const float *x, long channel_stride, int cin, int h, int w, int stride, float *xp, int use_avx2) {
    rk_conv3x3_pack_range(x, channel_stride, 0, cin, cin, h, w, stride, xp, use_avx2);
}

/* Row r of channel ci in a single image stored by bands (rk_row_bands). */
static inline const float *band_row(const rk_row_bands *b, int ci, long r, int w) {
    int t = 0;
    while (t + 1 < b->parts && r >= b->row_start[t + 1]) t++;
    return b->base[t] + ci * b->cs[t] + (r - b->row_start[t]) * w;
}

void rk_conv3x3_pack_range(const float *x, long channel_stride, int c0, int c1, int cin, int h, int w, int stride,
                           float *xp, int use_avx2) {
    const int rows[2] = {0, h};
    const rk_row_bands one = {1, rows, &x, &channel_stride};
    rk_conv3x3_pack_range_bands(&one, c0, c1, cin, h, w, stride, xp, use_avx2);
}

void rk_conv3x3_pack_range_bands(const rk_row_bands *x, int c0, int c1, int cin, int h, int w, int stride,
                                 float *xp, int use_avx2) {
    const geom g = geometry(h, w, stride);
    for (int ci = c0; ci < c1; ci++) {
        float *d = xp + ci * g.chan;
        if (stride == 1) {
            const long wp = g.wq;
            memset(d, 0, (size_t)(wp + 1) * sizeof(float));               /* top row, left border of row 0 */
            for (int y = 0; y < h; y++) {
                memcpy(d + (y + 1) * wp + 1, band_row(x, ci, y, w), (size_t)w * sizeof(float));
                d[(y + 2) * wp] = 0;                                       /* right border = next left border */
            }
            memset(d + (h + 1) * wp + 1, 0, (size_t)wp * sizeof(float));  /* bottom row */
            continue;
        }
        /* plane (a, b) holds P[2i + a][2j + b], P[r][c] = x[r - 1][c - 1] (zero outside), rows
         * of wq = wo + 1. Column parity b = 1 takes x's even columns 2j (j < wo); b = 0 has the
         * left border at j = 0, then x's odd columns 2j - 1 for j = 1 .. min(wo, w / 2). So each
         * row of x splits once into its even and odd elements, into the rows of planes (a, 1)
         * and (a, 0), a = (r + 1) mod 2 (rk_split_parity: eight or four pairs a step; two
         * stride-2 gathers a row, scalar on rows under 18 floats, took 5-6 us of a width-16
         * single image's stride-2 layers; with the 1x1 shortcut's gather in im2col.c, an
         * earlier change to gathers gave 0.947x, bench/results/perf/ab-pack-gather.txt). */
        const long odd = w / 2 < g.wo ? w / 2 : g.wo;
        for (int a = 0; a < 2; a++)  /* rows with no input row: the padding */
            for (long i = 0; i <= g.ho; i++) {
                const long r = 2 * i + a - 1;
                if (r < 0 || r >= h)
                    for (int b = 0; b < 2; b++) memset(d + (2 * a + b) * g.sub + i * g.wq, 0, (size_t)g.wq * sizeof(float));
            }
        for (long r = 0; r < h && (r + 1) / 2 <= g.ho; r++) {
            const int a = (int)((r + 1) & 1);
            const long i = (r + 1) / 2;
            float *even = d + (2 * a + 1) * g.sub + i * g.wq, *oddrow = d + (2 * a) * g.sub + i * g.wq;
            rk_split_parity(band_row(x, ci, r, w), w, even, g.wo, oddrow + 1, odd, use_avx2);
            even[g.wo] = 0;
            oddrow[0] = 0;
            for (long j = odd + 1; j <= g.wo; j++) oddrow[j] = 0;
        }
    }
    /* the last panel's overreach: written by the range that ends the channels only (anywhere
     * else these floats are the next range's first channel) */
    if (c1 == cin) memset(xp + cin * g.chan, 0, 16 * sizeof(float));
}

#if defined(__x86_64__)
#include "avx2.h"

/* rows x (8 nv) positions from p0 (rows <= 6 and nv = 1 or 2, constants after inlining),
 * then the valid positions written to y (row r at y + r ldy, position (yy, xx) at yy w + xx).
 * nv = 1 serves a last panel of up to 8 positions: a 4x4 plane has 19 (16 and 3), and two
 * full panels would compute 32 for 16 outputs. */
AVX2 INLINE void block(int rows, int nv, long cin, const float *A, long lda, const float *X, long chan,
                       const long *tap, long p0, long npos, long wq, long w, float *y, long ldy) {
    __m256 c0[6], c1[6];
    for (int r = 0; r < rows; r++) { c0[r] = _mm256_setzero_ps(); c1[r] = _mm256_setzero_ps(); }
    const float *xc = X + p0;
    for (long ci = 0; ci < cin; ci++, xc += chan, A += 9) {
        for (int t = 0; t < 9; t++) {
            const __m256 b0 = _mm256_loadu_ps(xc + tap[t]);
            const __m256 b1 = nv == 2 ? _mm256_loadu_ps(xc + tap[t] + 8) : b0;
            for (int r = 0; r < rows; r++) {
                const __m256 a = _mm256_broadcast_ss(A + r * lda + t);
                c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
                if (nv == 2) c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
            }
        }
    }
    float out[6 * 16] __attribute__((aligned(32)));
    for (int r = 0; r < rows; r++) {
        _mm256_store_ps(out + 16 * r, c0[r]);
        if (nv == 2) _mm256_store_ps(out + 16 * r + 8, c1[r]);
    }
    /* Copy the runs between border columns. */
    const int width = 8 * nv;
    long yy = p0 / wq, xx = p0 - yy * wq;
    for (int i = 0; i < width && p0 + i < npos;) {
        if (xx == w) { i++; yy++; xx = 0; continue; }  /* the border column */
        int run = (int)(w - xx);
        if (run > width - i) run = width - i;
        if (run > npos - p0 - i) run = (int)(npos - p0 - i);
        for (int r = 0; r < rows; r++) memcpy(y + r * ldy + yy * w + xx, out + 16 * r + i, (size_t)run * sizeof(float));
        i += run;
        xx += run;
    }
}

/* One block of rows (1-6) over every panel of positions. */
AVX2 INLINE void rows_block(int rows, long cin, const float *A, long lda, const float *X, long chan, const long *tap,
                            long npos, long wq, long wo, float *y, long ldy) {
    long p0 = 0;
    for (; p0 + 8 < npos; p0 += 16) block(rows, 2, cin, A, lda, X, chan, tap, p0, npos, wq, wo, y, ldy);
    if (p0 < npos) block(rows, 1, cin, A, lda, X, chan, tap, p0, npos, wq, wo, y, ldy);
}

AVX2 void rk_conv3x3_avx2(long M, int cin, int h, int w, int stride, const float *A, const float *xp, float *y,
                          long ldy) {
    const geom g = geometry(h, w, stride);
    long tap[9];
    for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++)
            tap[ky * 3 + kx] = stride == 1 ? ky * g.wq + kx
                                           : (2 * (ky & 1) + (kx & 1)) * g.sub + (ky >> 1) * g.wq + (kx >> 1);
    /* positions p = oy wq + ox up to the last output (the last border column dropped) */
    const long npos = (g.ho - 1) * g.wq + g.wo, lda = 9L * cin;
    long m = 0;
    for (; m + 6 <= M; m += 6) rows_block(6, cin, A + m * lda, lda, xp, g.chan, tap, npos, g.wq, g.wo, y + m * ldy, ldy);
    const float *a = A + m * lda;
    float *ym = y + m * ldy;
    switch (M - m) {
    case 5: rows_block(5, cin, a, lda, xp, g.chan, tap, npos, g.wq, g.wo, ym, ldy); break;
    case 4: rows_block(4, cin, a, lda, xp, g.chan, tap, npos, g.wq, g.wo, ym, ldy); break;
    case 3: rows_block(3, cin, a, lda, xp, g.chan, tap, npos, g.wq, g.wo, ym, ldy); break;
    case 2: rows_block(2, cin, a, lda, xp, g.chan, tap, npos, g.wq, g.wo, ym, ldy); break;
    case 1: rows_block(1, cin, a, lda, xp, g.chan, tap, npos, g.wq, g.wo, ym, ldy); break;
    default: break;
    }
}

#else
#include <stdlib.h>
void rk_conv3x3_avx2(long M, int cin, int h, int w, int stride, const float *A, const float *xp, float *y,
                     long ldy) { abort(); }
#endif
