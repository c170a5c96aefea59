/* robust_kernels.h - hot loops of the engine written for AVX2 + FMA, chosen at run time.
 *
 * The Swift core is compiled for the baseline x86-64 (SSE2): Package.swift carries no
 * compiler flags, so that `swift test` and every consumer build it unchanged. The loops here
 * carry their own target attribute instead, so one binary runs everywhere and uses 256-bit
 * vectors where the CPU has them. Call a *_avx2 function only when rk_cpu_has_avx2_fma()
 * returned 1: on an older CPU it would fault on the first AVX instruction.
 *
 * Every function is reentrant: no global state; the caller owns all memory. Layouts are those
 * of the Swift code that calls them (RobustCore/Ops/Winograd4.swift), documented there.
 */
#ifndef ROBUST_KERNELS_H
#define ROBUST_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the CPU and the operating system support AVX2 and FMA (cpuid, and XGETBV for the
 * saved YMM state), else 0. Cheap; the Swift side asks once. */
int rk_cpu_has_avx2_fma(void);

/* Winograd F(4x4, 3x3) input transform, V = B^T d B, for channels [c0, c1) of `images`
 * images of h x w (h a multiple of 4, w of 16), tile rows [ty0, ty1) of each image (0 and
 * h/4: all; a band reads the image rows it needs, its neighbours' included). x: the first
 * image of channel 0, channels `channel_stride` floats apart. v: V[e][ci][t], rows `ldv`
 * apart, e-planes `plane_stride` apart; t = image * (h/4)(w/4) + tile row * (w/4) + tile
 * column (a band writes its own tiles' columns only). scratch: 4 (h+2) (w/4+1) floats. */
void rk_wino4_input_avx2(const float *x, long channel_stride, int c0, int c1, int images, int h, int w,
                         int ty0, int ty1, float *v, long ldv, long plane_stride, float *scratch);

/* The same transform for one image whose rows need not share one channel stride (a single
 * image's row bands, each band contiguous: RobustCore/Ops/RowBands.swift): image rows
 * [4 ty0, 4 ty1) of channel ci at x + ci * cs + (r - 4 ty0) * w; row 4 ty0 - 1 (when ty0 > 0)
 * at above + ci * acs; row 4 ty1 (when 4 ty1 < h) at below + ci * bcs. above / below may be
 * NULL where the image ends. */
void rk_wino4_input_rows_avx2(const float *x, long cs, const float *above, long acs, const float *below, long bcs,
                              int c0, int c1, int h, int w, int ty0, int ty1, float *v, long ldv, long plane_stride,
                              float *scratch);

/* Winograd F(4x4, 3x3) output transform, Y = A^T m A, for channels [c0, c1) and tile rows
 * [ty0, ty1) (output rows 4 ty0 to 4 ty1 - 1) of each image: from M[e][co][t] (rows `ldm`
 * apart, e-planes `plane_stride` apart) into y (the first image of channel 0, channels
 * `channel_stride` floats apart), h a multiple of 4, w of 16. */
void rk_wino4_output_avx2(const float *m, long ldm, long plane_stride, int c0, int c1, int images, int h, int w,
                          int ty0, int ty1, float *y, long channel_stride);

/* The same with evaluation's epilogue fused into the stores: y = v * scale[co] + shift[co]
 * (+ res, at res + co * res_channel_stride in y's layout, when res is not NULL), clamped at 0
 * when relu is nonzero. Bit-identical to the transform followed by RobustCore's
 * ChannelAffine.apply, one pass over y fewer. */
void rk_wino4_output_affine_avx2(const float *m, long ldm, long plane_stride, int c0, int c1, int images, int h, int w,
                                 int ty0, int ty1, float *y, long channel_stride, const float *scale, const float *shift,
                                 const float *res, long res_channel_stride, int relu);

/* dM = A dY A^T (the adjoint of the F(4x4, 3x3) output transform: the weight gradient's
 * transform of the output gradient) for channels [c0, c1) of dy (the first image of channel
 * 0, channels `channel_stride` floats apart; h a multiple of 4, w of 16) into dM[e][co][t],
 * e = 6i + j, rows `ldm` apart, e-planes `plane_stride` apart, all tiles of each image. */
void rk_wino4_output_grad_avx2(const float *dy, long channel_stride, int c0, int c1, int images, int h, int w,
                               float *dm, long ldm, long plane_stride);

/* Transformed filters U[e][.][.] = (G g G^T)[e] for filters [f0, f1) of the output order
 * (tile 2: 16 planes, tile 4: 36; planes cout * cin floats apart) from w[cout][cin][3][3].
 * flip 0: U[e][co][ci] from w[co][ci] (the forward pass); flip 1: U[e][ci][co] from w[co][ci]
 * rotated by 180 degrees (the input gradient's filters), the output order then [cin][cout]. */
void rk_wino_filters_avx2(const float *w, long cout, long cin, int tile, int flip, long f0, long f1, float *u);

/* The adjoint: dW[f] = G^T dU[.][f] G for filters [f0, f1) of [cout][cin], from dU[e][cout][cin]
 * (tile 2: 16 planes, tile 4: 36) into dw[cout][cin][3][3]. */
void rk_wino_filter_grad_avx2(const float *du, long cout, long cin, int tile, long f0, long f1, float *dw);

/* F(4x4, 3x3) on 4x4 planes, one tile an image (t = image): the input transform, the output
 * transform (with evaluation's epilogue when scale is not NULL, as
 * rk_wino4_output_affine_avx2; res in y's layout, channels res_channel_stride apart) and the
 * output gradient's transform, for channels [c0, c1) of all `images` images (planes 16 floats
 * apart, channels channel_stride apart). Lanes are eight images. */
void rk_wino4_input_plane4_avx2(const float *x, long channel_stride, int c0, int c1, int images, float *v, long ldv,
                                long plane_stride);
void rk_wino4_output_plane4_avx2(const float *m, long ldm, long plane_stride, int c0, int c1, int images, float *y,
                                 long channel_stride, const float *scale, const float *shift, const float *res,
                                 long res_channel_stride, int relu);
void rk_wino4_output_grad_plane4_avx2(const float *dy, long channel_stride, int c0, int c1, int images, float *dm,
                                      long ldm, long plane_stride);

/* F(2x2, 3x3) on a single image's 4x4 planes, output channels in the lanes
 * (winograd2_single4_avx2.c). rk_wino2_single4_filters lays U[e][co][ci] (16 planes, the
 * F(2x2) filter transform; cout a multiple of 16) out as UB[e][co / 16][ci][co % 16] (portable
 * C). The input transform writes V[e][t][ci] for all cin channels (planes 16 floats apart; t =
 * 2 tile row + tile column); the GEMM M[e][t][co] = sum over ci of U[e][co][ci] V[e][t][ci] for
 * output channels [co0, co1) (multiples of 16), prefetching the filter stream `prefetch` floats
 * ahead when it is not 0; the output transform writes channels [co0, co1)
 * of y (planes cs apart) with evaluation's epilogue when scale is not NULL (as
 * rk_wino4_output_plane4_avx2; res planes rcs apart). */
void rk_wino2_single4_filters(const float *u, long cout, long cin, float *ub);
void rk_wino2_single4_input_avx2(const float *x, long cs, int cin, float *v);
void rk_wino2_single4_gemm_avx2(const float *ub, const float *v, long cin, long cout, long co0, long co1, float *m,
                                long prefetch);
void rk_wino2_single4_output_avx2(const float *m, long cout, int co0, int co1, float *y, long cs,
                                  const float *scale, const float *shift, const float *res, long rcs, int relu);

/* The same for a single image's 8x8 planes (winograd2_single8_avx2.c): 16 tiles, t = 4 tile
 * row + tile column, V[e][t][ci] and M[e][t][co] with 16 tiles per plane e; the filters as
 * rk_wino2_single4_filters lays them out; x and y planes of 64 floats, cs apart (res: rcs). */
void rk_wino2_single8_input_avx2(const float *x, long cs, int cin, float *v);
void rk_wino2_single8_gemm_avx2(const float *ub, const float *v, long cin, long cout, long co0, long co1, float *m,
                                long prefetch);
void rk_wino2_single8_output_avx2(const float *m, long cout, int co0, int co1, float *y, long cs,
                                  const float *scale, const float *shift, const float *res, long rcs, int relu);

/* Winograd F(2x2, 3x3), the same layouts with 2x2 output tiles (RobustCore/Ops/Winograd.swift),
 * for widths that are a multiple of 8 (four tiles a half vector). */

/* V = B^T d B for tile rows [ty0, ty1) of each image (0 and h/2: all): t = image * (h/2)(w/2)
 * + tile row * (w/2) + tile column; scratch holds 2 (h+2) (w/2+1) floats. */
void rk_wino2_input_avx2(const float *x, long channel_stride, int c0, int c1, int images, int h, int w,
                         int ty0, int ty1, float *v, long ldv, long plane_stride, float *scratch);
/* The same with the band's rows and its neighbours' edge rows apart (rk_wino4_input_rows_avx2). */
void rk_wino2_input_rows_avx2(const float *x, long cs, const float *above, long acs, const float *below, long bcs,
                              int c0, int c1, int h, int w, int ty0, int ty1, float *v, long ldv, long plane_stride,
                              float *scratch);

/* Y = A^T m A from M[e][co][t] into y, tile rows [ty0, ty1) (output rows 2 ty0 to 2 ty1 - 1). */
void rk_wino2_output_avx2(const float *m, long ldm, long plane_stride, int c0, int c1, int images, int h, int w,
                          int ty0, int ty1, float *y, long channel_stride);
/* The same with evaluation's epilogue fused into the stores (rk_wino4_output_affine_avx2). */
void rk_wino2_output_affine_avx2(const float *m, long ldm, long plane_stride, int c0, int c1, int images, int h, int w,
                                 int ty0, int ty1, float *y, long channel_stride, const float *scale, const float *shift,
                                 const float *res, long res_channel_stride, int relu);

/* dM = A dY A^T (the adjoint of the output transform) for channels [c0, c1) of dy (the first
 * image of channel 0, channels `channel_stride` apart) into dM[e][co][t]. */
void rk_wino2_output_grad_avx2(const float *dy, long channel_stride, int c0, int c1, int images, int h, int w,
                               float *dm, long ldm, long plane_stride);

/* Row-major C[M][N] = A[M][K] B[K][N] (C overwritten; rows lda, ldb, ldc floats apart), for
 * the Winograd domain's GEMMs with few channels (M and K up to about 128), where a general
 * sgemm's packing costs as much as the multiplies. */
void rk_sgemm_small_avx2(long M, long N, long K, const float *A, long lda, const float *B, long ldb,
                         float *C, long ldc);

/* Row-major C[M][N] = A[M][K] B[N][K]^T, added to C when accumulate is nonzero, else
 * overwriting it (rows lda, ldb, ldc floats apart), for the Winograd weight gradient: few
 * rows (the engine uses it up to 64; OpenBLAS wins from about 96), K in the hundreds or
 * thousands. Reads exactly M rows of A and N rows of B of K floats each. */
void rk_sgemm_abt_avx2(long M, long N, long K, const float *A, long lda, const float *B, long ldb,
                       float *C, long ldc, int accumulate);

/* Stride-2 rows of im2col and col2im (the stride-2 convolutions): dst[i] = src[2i], and
 * dst[2i] += src[i], for i in [0, count). Neither reads or writes past the last element the
 * scalar loop would touch (src[2 count - 2], dst[2 count - 2]); the scatter rewrites the odd
 * elements in between unchanged (x + 0). */
void rk_gather_stride2_avx2(float *dst, const float *src, long count);
/* dst[i] = src[i stride] for i in [0, count): rk_gather_stride2_avx2 for stride 2 when
 * use_avx2 is 1 (only where rk_cpu_has_avx2_fma() returned 1), else a scalar loop. */
void rk_gather_strided(float *dst, const float *src, long count, int stride, int use_avx2);
/* even[j] = src[2j] for j < ne and odd[j] = src[2j + 1] for j < no, reading only src[0, n)
 * (2 ne <= n + 1, 2 no <= n): a row split by column parity, eight pairs a step on AVX2. */
void rk_split_parity(const float *src, long n, float *even, long ne, float *odd, long no, int use_avx2);
void rk_split_parity_avx2(const float *src, long n, float *even, long ne, float *odd, long no);
void rk_scatter_add_stride2_avx2(float *dst, const float *src, long count);

/* im2col of one channel of one image x[h][w]: the k*k rows (ky, kx) of the column matrix,
 * row r at col + r * ld, each (h + 2 pad - k)/stride + 1 rows of (w + 2 pad - k)/stride + 1
 * outputs, zero where the tap falls on padding. Portable C; use_avx2 (only where
 * rk_cpu_has_avx2_fma() returned 1) gathers stride-2 rows with rk_gather_stride2_avx2 (a
 * strided 1x1 without padding reads x directly, row by row). */
void rk_im2col_channel(const float *x, int h, int w, int k, int stride, int pad, float *col, long ld,
                       int use_avx2);

/* Direct 3x3 convolution, padding 1, stride 1 or 2, of one image (conv3x3_avx2.c).
 * rk_conv3x3_pack (portable C) copies channels [0, cin) of x[h][w] (channels `channel_stride`
 * floats apart) into xp as zero-bordered planes (stride 2: four parity planes per channel,
 * their rows gathered with rk_gather_stride2_avx2 when use_avx2 is 1: only where
 * rk_cpu_has_avx2_fma() returned 1),
 * then 16 zeros; xp holds rk_conv3x3_packed_count(cin, h, w, stride) floats.
 * rk_conv3x3_avx2 then writes
 * y[co][ho][wo] = sum over ci, ky, kx of A[co][ci][ky][kx] x[ci][stride oy + ky - 1][stride ox + kx - 1]
 * (zero outside x), ho = (h - 1)/stride + 1 and wo likewise, for co in [0, M) (A: M rows of
 * 9 cin floats; y: rows `ldy` floats apart, overwritten; nothing else written). */
long rk_conv3x3_packed_count(int cin, int h, int w, int stride);
void rk_conv3x3_pack(const float *x, long channel_stride, int cin, int h, int w, int stride, float *xp, int use_avx2);
/* Channels [c0, c1) of the same packing (x and xp still at channel 0; the 16 zeros only when
 * c1 = cin): disjoint ranges may be packed by different threads at once. */
void rk_conv3x3_pack_range(const float *x, long channel_stride, int c0, int c1, int cin, int h, int w, int stride,
                           float *xp, int use_avx2);
/* A single image stored by bands of rows (RobustCore's RowBands): band t holds image rows
 * [row_start[t], row_start[t + 1]), channel ci's row r of it at
 * base[t] + ci * cs[t] + (r - row_start[t]) * w. One band is the usual [C][H][W]. */
typedef struct {
    int parts;
    const int *row_start;      /* parts + 1 entries */
    const float *const *base;  /* parts entries */
    const long *cs;            /* parts entries */
} rk_row_bands;
/* rk_conv3x3_pack_range reading its input stored by bands. */
void rk_conv3x3_pack_range_bands(const rk_row_bands *x, int c0, int c1, int cin, int h, int w, int stride,
                                 float *xp, int use_avx2);
void rk_conv3x3_avx2(long M, int cin, int h, int w, int stride, const float *A, const float *xp, float *y, long ldy);
/* The same convolution with the output channels in the vector lanes (conv3x3_cvec_avx2.c): no
 * lanes spent on border columns. rk_conv3x3_cvec_weights (portable C) lays out A (M rows of 9
 * cin floats) in blocks of 16 rows, wt[M / 16][9 cin][16] (the last block zero-padded):
 * rk_conv3x3_cvec_weights_count(M, cin) floats, 32-byte aligned. rk_conv3x3_cvec_avx2 writes
 * rows [m0, m1) of y (row co at y + co ldy; m0 a multiple of 16) from xp as packed by
 * rk_conv3x3_pack; nothing else is written. With `prefetch` not 0, each tap also prefetches the
 * weights that many floats ahead. */
long rk_conv3x3_cvec_weights_count(long M, int cin);
void rk_conv3x3_cvec_weights(long M, int cin, const float *A, float *wt);
void rk_conv3x3_cvec_avx2(long m0, long m1, int cin, int h, int w, int stride, const float *wt, const float *xp,
                          float *y, long ldy, long prefetch);
#ifdef __cplusplus
}
#endif
#endif
