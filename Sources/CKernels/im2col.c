/* im2col for one channel of one image (robust_kernels.h). The Swift loop it replaces paid
 * its bookkeeping (valid ranges, a memset call per padded stretch) once per row of k*k rows
 * per image: for a single image's 8x8 and 4x4 layers that cost more than the copies. Here
 * the plane is first copied into a zero-bordered buffer, so every output row is one copy
 * with no bounds to check, of a size the compiler knows for the common widths. */
#include "robust_kernels.h"

#include <string.h>

enum { PADDED_MAX = 4096 };  /* floats: planes up to 62x62 with their border */

/* Copies one row of n floats; the fixed sizes become a few vector moves. */
static inline void copy_row(float *d, const float *s, int n) {
    switch (n) {
    case 4: memcpy(d, s, 4 * sizeof(float)); break;
    case 8: memcpy(d, s, 8 * sizeof(float)); break;
    case 16: memcpy(d, s, 16 * sizeof(float)); break;
    case 32: memcpy(d, s, 32 * sizeof(float)); break;
    default: memcpy(d, s, (size_t)n * sizeof(float)); break;
    }
}

/* Any plane: the valid range of each row computed, the rest zeroed. */
static void im2col_bounded(const float *x, int h, int w, int k, int stride, int pad, float *col, long ld,
                           int ho, int wo, int use_avx2) {
    for (int ky = 0; ky < k; ky++) {
        for (int kx = 0; kx < k; kx++) {
            float *d = col + (long)(ky * k + kx) * ld;
            /* outputs ox whose input column ox*stride + kx - pad lies in [0, w) */
            const int shift = kx - pad;
            int lo = shift < 0 ? (-shift + stride - 1) / stride : 0;
            int hi = w - 1 - shift < 0 ? 0 : (w - 1 - shift) / stride + 1;
            if (lo > wo) lo = wo;
            if (hi > wo) hi = wo;
            if (hi < lo) hi = lo;
            for (int oy = 0; oy < ho; oy++, d += wo) {
                const int iy = oy * stride + ky - pad;
                if (iy < 0 || iy >= h) {
                    memset(d, 0, sizeof(float) * (size_t)wo);
                    continue;
                }
                for (int ox = 0; ox < lo; ox++) d[ox] = 0;
                if (hi > lo) {
                    /* the first input read, x[iy][lo stride + shift]: formed only when it exists
                     * (x + iy w + shift alone can point before x, undefined even unread) */
                    const float *s = x + (long)iy * w + (long)lo * stride + shift;
                    if (stride == 1) {
                        memcpy(d + lo, s, sizeof(float) * (size_t)(hi - lo));
                    } else {
                        rk_gather_strided(d + lo, s, hi - lo, stride, use_avx2);
                    }
                }
                for (int ox = hi; ox < wo; ox++) d[ox] = 0;
            }
        }
    }
}

void rk_im2col_channel(const float *x, int h, int w, int k, int stride, int pad, float *col, long ld,
                       int use_avx2) {
    /* use_avx2: the strided 1x1 and the bounded path gather with it, and the padded path
     * splits its rows by column parity with it (stride 2) */
    const int ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
    if (ho <= 0 || wo <= 0) return;
    if (k == 1 && pad == 0) {
        /* a strided 1x1 (the projection shortcuts): each output row is one gather, no padded
         * copy of the whole plane first */
        for (int oy = 0; oy < ho; oy++) rk_gather_strided(col + (long)oy * wo, x + (long)oy * stride * w, wo, stride, use_avx2);
        return;
    }
    const int hp = h + 2 * pad, wp = w + 2 * pad;
    /* A kernel larger than the padded plane (only at stride > 1 does ho come out 1 there, the
     * division truncating towards zero): the padded path's taps would read past it. */
    if ((long)hp * wp > PADDED_MAX || hp < k || wp < k) {
        im2col_bounded(x, h, w, k, stride, pad, col, ld, ho, wo, use_avx2);
        return;
    }
    float p[PADDED_MAX];
    memset(p, 0, sizeof(float) * (size_t)(pad * wp));
    for (int iy = 0; iy < h; iy++) {
        float *r = p + (long)(iy + pad) * wp;
        for (int i = 0; i < pad; i++) r[i] = r[pad + w + i] = 0;
        memcpy(r + pad, x + (long)iy * w, sizeof(float) * (size_t)w);
    }
    memset(p + (long)(h + pad) * wp, 0, sizeof(float) * (size_t)(pad * wp));
    /* Stride 2: the even and odd columns of the padded plane as two planes of `half` columns,
     * so every tap's row is again one contiguous copy. */
    const int half = (wp + 1) / 2;
    float split[stride == 2 ? 2 * hp * half : 1];  /* 2 hp half <= hp (wp + 1) */
    float *even = split, *odd = stride == 2 ? split + (long)hp * half : split;
    if (stride == 2) {
        /* eight pairs a step on AVX2 (the scalar loop with its bounds test was most of the
         * stride-2 im2col's time) */
        for (int y = 0; y < hp; y++) {
            float *o = odd + (long)y * half;
            rk_split_parity(p + (long)y * wp, wp, even + (long)y * half, half, o, wp / 2, use_avx2);
            if (wp / 2 < half) o[half - 1] = 0;
        }
    }
    /* The last tap reads up to ((ho-1) stride + k-1, (wo-1) stride + k-1): inside the
     * padded plane, since ho, wo are the convolution's output size. */
    for (int ky = 0; ky < k; ky++) {
        for (int kx = 0; kx < k; kx++) {
            float *d = col + (long)(ky * k + kx) * ld;
            const float *s = p + (long)ky * wp + kx;
            if (stride == 1) {
                for (int oy = 0; oy < ho; oy++) copy_row(d + (long)oy * wo, s + (long)oy * wp, wo);
            } else if (stride == 2) {
                /* column kx of the padded plane at stride 2 is column kx/2 of its even
                 * (kx even) or odd half, split off once below */
                const float *h2 = (kx & 1 ? odd : even) + (long)ky * half + kx / 2;
                for (int oy = 0; oy < ho; oy++) copy_row(d + (long)oy * wo, h2 + (long)oy * 2 * half, wo);
            } else {
                for (int oy = 0; oy < ho; oy++) {
                    const float *sr = s + (long)oy * stride * wp;
                    float *dr = d + (long)oy * wo;
                    for (int ox = 0; ox < wo; ox++) dr[ox] = sr[ox * stride];
                }
            }
        }
    }
}
