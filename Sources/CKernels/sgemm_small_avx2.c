/* C = A B for the small GEMMs of the Winograd domain (robust_kernels.h): M (output channels)
 * and K (input channels) of 16 to 128, N (tiles) in the hundreds or thousands. A general
 * sgemm packs both operands for every call; with K this short the packing costs as much as
 * the multiplies (OpenBLAS reached about 40% of peak on these shapes). Here B is read in
 * a panel of 16 columns and all K rows at a time (copied into a contiguous buffer of up to
 * 16 KiB; 4 KiB at K = 64: it stays in L1 while every block of 6 rows of A passes over it),
 * and A's elements are broadcast straight from memory.
 * The 6 x 16 block keeps 12 accumulators in registers: 12 FMAs per 2 loads and 6 broadcasts. */
#include "robust_kernels.h"

#if defined(__x86_64__)
#include "avx2.h"

/* rows x 16 block (rows <= 6, a constant after inlining, so the loops unroll into registers) */
AVX2 INLINE void block16(int rows, long K, const float *A, long lda, const float *B, long ldb, float *C, long ldc) {
    __m256 c0[6], c1[6];
    for (int r = 0; r < rows; r++) { c0[r] = _mm256_setzero_ps(); c1[r] = _mm256_setzero_ps(); }
    for (long k = 0; k < K; k++) {
        const __m256 b0 = _mm256_loadu_ps(B + k * ldb), b1 = _mm256_loadu_ps(B + k * ldb + 8);
        for (int r = 0; r < rows; r++) {
            const __m256 a = _mm256_broadcast_ss(A + r * lda + k);
            c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
        }
    }
    for (int r = 0; r < rows; r++) {
        _mm256_storeu_ps(C + r * ldc, c0[r]);
        _mm256_storeu_ps(C + r * ldc + 8, c1[r]);
    }
}

/* rows x w block, w < 16 columns: masked loads and stores (never touch a column past N) */
AVX2 INLINE void block_tail(int rows, int w, long K, const float *A, long lda, const float *B, long ldb, float *C, long ldc) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(w), lane);
    const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(w - 8), lane);
    __m256 c0[6], c1[6];
    for (int r = 0; r < rows; r++) { c0[r] = _mm256_setzero_ps(); c1[r] = _mm256_setzero_ps(); }
    for (long k = 0; k < K; k++) {
        const __m256 b0 = _mm256_maskload_ps(B + k * ldb, m0), b1 = _mm256_maskload_ps(B + k * ldb + 8, m1);
        for (int r = 0; r < rows; r++) {
            const __m256 a = _mm256_broadcast_ss(A + r * lda + k);
            c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
        }
    }
    for (int r = 0; r < rows; r++) {
        _mm256_maskstore_ps(C + r * ldc, m0, c0[r]);
        _mm256_maskstore_ps(C + r * ldc + 8, m1, c1[r]);
    }
}

/* All rows of A against one panel of columns: blocks of 6 rows, then the remaining 1-5. */
AVX2 static void panel(long M, int w, long K, const float *A, long lda, const float *B, long ldb, float *C, long ldc) {
    long m = 0;
    if (w == 16) {
        for (; m + 6 <= M; m += 6) block16(6, K, A + m * lda, lda, B, ldb, C + m * ldc, ldc);
        switch (M - m) {
        case 5: block16(5, K, A + m * lda, lda, B, ldb, C + m * ldc, ldc); break;
        case 4: block16(4, K, A + m * lda, lda, B, ldb, C + m * ldc, ldc); break;
        case 3: block16(3, K, A + m * lda, lda, B, ldb, C + m * ldc, ldc); break;
        case 2: block16(2, K, A + m * lda, lda, B, ldb, C + m * ldc, ldc); break;
        case 1: block16(1, K, A + m * lda, lda, B, ldb, C + m * ldc, ldc); break;
        default: break;
        }
    } else {
        for (; m + 6 <= M; m += 6) block_tail(6, w, K, A + m * lda, lda, B, ldb, C + m * ldc, ldc);
        switch (M - m) {
        case 5: block_tail(5, w, K, A + m * lda, lda, B, ldb, C + m * ldc, ldc); break;
        case 4: block_tail(4, w, K, A + m * lda, lda, B, ldb, C + m * ldc, ldc); break;
        case 3: block_tail(3, w, K, A + m * lda, lda, B, ldb, C + m * ldc, ldc); break;
        case 2: block_tail(2, w, K, A + m * lda, lda, B, ldb, C + m * ldc, ldc); break;
        case 1: block_tail(1, w, K, A + m * lda, lda, B, ldb, C + m * ldc, ldc); break;
        default: break;
        }
    }
}

AVX2 void rk_sgemm_small_avx2(long M, long N, long K, const float *A, long lda, const float *B, long ldb,
                              float *C, long ldc) {
    /* Each full panel is first copied into a contiguous buffer, read by every block of rows:
     * B's rows are far apart (hundreds of tiles), and rows a multiple of 1 KiB apart share L1
     * sets. Measured: 16 x 448 x 16 from 41 to 49 GFLOP/s. (At 1,024 columns it stays near 30
     * either way, not understood; the engine's slices give 128-448.) */
    float packed[256 * 16] __attribute__((aligned(32)));
    long n = 0;
    for (; n + 16 <= N; n += 16) {
        if (K <= 256) {
            for (long k = 0; k < K; k++) {
                _mm256_store_ps(packed + 16 * k, _mm256_loadu_ps(B + k * ldb + n));
                _mm256_store_ps(packed + 16 * k + 8, _mm256_loadu_ps(B + k * ldb + n + 8));
            }
            panel(M, 16, K, A, lda, packed, 16, C + n, ldc);
        } else {
            panel(M, 16, K, A, lda, B + n, ldb, C + n, ldc);
        }
    }
    if (n < N) panel(M, (int)(N - n), K, A, lda, B + n, ldb, C + n, ldc);
}

#else
#include <stdlib.h>
void rk_sgemm_small_avx2(long M, long N, long K, const float *A, long lda, const float *B, long ldb,
                         float *C, long ldc) { abort(); }
#endif
