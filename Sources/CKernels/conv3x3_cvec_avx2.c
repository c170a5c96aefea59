/* Direct 3x3 convolution with the output channels in the vector lanes (robust_kernels.h):
 * the single-image convolutions on 4x4 and 8x8 planes and the stride-2 ones.
 *
 * rk_conv3x3_avx2 puts 16 output positions in its vectors, and a plane's positions come in
 * runs of w between border columns: a 4x4 plane (19 positions from the first output to the
 * last, 16 of them valid) took 24 lanes for 16 outputs, an 8x8 plane 72 for 64. Here the
 * vectors hold 16 output channels instead (channel counts are multiples of 8 or padded to
 * them) and each of 6 output positions is a broadcast from the same zero-bordered input
 * (rk_conv3x3_pack), so only valid positions are computed. Per input channel and tap: 2
 * aligned weight loads and 6 broadcasts for 12 FMAs (12 accumulators), as before.
 * The weights are laid out once per weight version (rk_conv3x3_cvec_weights) in blocks of 16
 * output channels, each block [cin][9][16] contiguous: a block streams its 9 cin x 64 bytes
 * in order (from L2 at cin >= 64), while one input channel's plane (a few lines) serves all 9
 * taps from L1. A software prefetch `prefetch` floats ahead in that stream helps the first
 * group of positions, which brings the block from L3 or memory (see Kernels.weightPrefetch);
 * the later groups' prefetches find the lines in L2 and cost an issue slot each (measured
 * with them).
 * (Rows of all M channels, [cin][9][M], put the 64 bytes a tap needs M x 4
 * bytes apart: at M = 512, 2 KiB strides that alias in the caches, 3x slower than now.) */
#include "robust_kernels.h"

long rk_conv3x3_cvec_weights_count(long M, int cin) { return (M + 15) / 16 * 16 * 9L * cin; }

void rk_conv3x3_cvec_weights(long M, int cin, const float *A, float *wt) {
    const long kk = 9L * cin;
    for (long m0 = 0; m0 < M; m0 += 16, wt += 16 * kk)
        for (long c = 0; c < kk; c++)
            for (long j = 0; j < 16; j++) wt[16 * c + j] = m0 + j < M ? A[(m0 + j) * kk + c] : 0.0f;
}

#if defined(__x86_64__)
#include "avx2.h"

/* P positions (offsets base[] into each packed channel; outputs at out[]) x 8 nv channels. */
AVX2 INLINE void cblock(int P, int nv, long cin, const float *wt, const float *X, long chan,
                        const long *tap, const long *base, const long *out, long rows, float *y, long ldy,
                        long prefetch) {
    __m256 c0[6], c1[6];
    for (int p = 0; p < P; p++) { c0[p] = _mm256_setzero_ps(); c1[p] = _mm256_setzero_ps(); }
    for (long ci = 0; ci < cin; ci++, X += chan, wt += 9 * 16) {
        for (int t = 0; t < 9; t++) {
            if (prefetch) _mm_prefetch((const char *)(wt + 16 * t + prefetch), _MM_HINT_T0);
            const float *xt = X + tap[t];
            const __m256 w0 = _mm256_load_ps(wt + 16 * t);
            const __m256 w1 = nv == 2 ? _mm256_load_ps(wt + 16 * t + 8) : w0;
            for (int p = 0; p < P; p++) {
                const __m256 x = _mm256_broadcast_ss(xt + base[p]);
                c0[p] = _mm256_fmadd_ps(x, w0, c0[p]);
                if (nv == 2) c1[p] = _mm256_fmadd_ps(x, w1, c1[p]);
            }
        }
    }
    float o[6][16] __attribute__((aligned(32)));
    for (int p = 0; p < P; p++) {
        _mm256_store_ps(o[p], c0[p]);
        if (nv == 2) _mm256_store_ps(o[p] + 8, c1[p]);
    }
    for (long r = 0; r < rows; r++)
        for (int p = 0; p < P; p++) y[r * ldy + out[p]] = o[p][r];
}

/* Every position of the plane, 6 at a time, for one block of 8 nv channels. */
AVX2 INLINE void positions(int nv, long cin, const float *wt, const float *X, long chan, const long *tap,
                           long ho, long wo, long wq, long rows, float *y, long ldy, long prefetch) {
    long base[6], out[6];
    int P = 0;
    for (long oy = 0; oy < ho; oy++)
        for (long ox = 0; ox < wo; ox++) {
            base[P] = oy * wq + ox;
            out[P] = oy * wo + ox;
            if (++P == 6) {
                cblock(6, nv, cin, wt, X, chan, tap, base, out, rows, y, ldy, prefetch);
                P = 0;
            }
        }
    switch (P) {
    case 5: cblock(5, nv, cin, wt, X, chan, tap, base, out, rows, y, ldy, prefetch); break;
    case 4: cblock(4, nv, cin, wt, X, chan, tap, base, out, rows, y, ldy, prefetch); break;
    case 3: cblock(3, nv, cin, wt, X, chan, tap, base, out, rows, y, ldy, prefetch); break;
    case 2: cblock(2, nv, cin, wt, X, chan, tap, base, out, rows, y, ldy, prefetch); break;
    case 1: cblock(1, nv, cin, wt, X, chan, tap, base, out, rows, y, ldy, prefetch); break;
    default: break;
    }
}

AVX2 void rk_conv3x3_cvec_avx2(long m0, long m1, int cin, int h, int w, int stride, const float *wt,
                               const float *xp, float *y, long ldy, long prefetch) {
    const long ho = (h - 1) / stride + 1, wo = (w - 1) / stride + 1;
    const long wq = stride == 1 ? w + 1 : wo + 1;
    const long sub = stride == 1 ? (long)(h + 2) * wq + 1 : (ho + 1) * wq;
    const long chan = stride == 1 ? sub : 4 * sub;
    long tap[9];
    for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++)
            tap[ky * 3 + kx] = stride == 1 ? ky * wq + kx : (2 * (ky & 1) + (kx & 1)) * sub + (ky >> 1) * wq + (kx >> 1);
    for (long m = m0; m < m1; m += 16) {
        const long rows = m1 - m < 16 ? m1 - m : 16;
        if (rows > 8) positions(2, cin, wt + m * 9L * cin, xp, chan, tap, ho, wo, wq, rows, y + m * ldy, ldy, prefetch);
        else positions(1, cin, wt + m * 9L * cin, xp, chan, tap, ho, wo, wq, rows, y + m * ldy, ldy, prefetch);
    }
}

#else
#include <stdlib.h>
void rk_conv3x3_cvec_avx2(long m0, long m1, int cin, int h, int w, int stride, const float *wt,
                          const float *xp, float *y, long ldy, long prefetch) { abort(); }
#endif
