/* C (+)= A B^T for the Winograd weight gradient (robust_kernels.h): dU[e] = dM[e] V[e]^T, where
 * A (output channels) and B (input channels) have few rows, 12 to 128, and K (tiles) runs to
 * the thousands. Every element of C is a dot product of two long rows. A general sgemm packs
 * both operands into panels first, which for so few rows costs as much as the multiplies
 * (OpenBLAS: about half of peak on the width-12 and width-16 layers).
 * Here a block of 3 rows of A and 4 rows of B is multiplied in one pass over K: 12
 * accumulators of 8 lanes, 12 FMAs per 7 loads, summed across lanes once at the end. The rows
 * are read in place (both row-major along K), so nothing is copied. */
#include "robust_kernels.h"

#if defined(__x86_64__)
#include "avx2.h"

/* Sum of the 8 lanes. */
AVX2 INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* rows x cols block (rows <= 3, cols <= 4: constants after inlining, so the accumulators stay
 * in registers). The last K % 8 elements are read with a mask, never past a row's end. */
AVX2 INLINE void block(int rows, int cols, long K, const float *A, long lda, const float *B, long ldb,
                       float *C, long ldc, int accumulate) {
    __m256 acc[3][4];
    for (int r = 0; r < rows; r++)
        for (int s = 0; s < cols; s++) acc[r][s] = _mm256_setzero_ps();
    long k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 a[3];
        for (int r = 0; r < rows; r++) a[r] = _mm256_loadu_ps(A + r * lda + k);
        for (int s = 0; s < cols; s++) {
            const __m256 b = _mm256_loadu_ps(B + s * ldb + k);
            for (int r = 0; r < rows; r++) acc[r][s] = _mm256_fmadd_ps(a[r], b, acc[r][s]);
        }
    }
    if (k < K) {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(K - k)), lane);
        __m256 a[3];
        for (int r = 0; r < rows; r++) a[r] = _mm256_maskload_ps(A + r * lda + k, mask);
        for (int s = 0; s < cols; s++) {
            const __m256 b = _mm256_maskload_ps(B + s * ldb + k, mask);
            for (int r = 0; r < rows; r++) acc[r][s] = _mm256_fmadd_ps(a[r], b, acc[r][s]);
        }
    }
    for (int r = 0; r < rows; r++)
        for (int s = 0; s < cols; s++) {
            const float v = hsum(acc[r][s]);
            C[r * ldc + s] = accumulate ? C[r * ldc + s] + v : v;
        }
}

/* rows (1-3) of A against every row of B: blocks of 4 rows of B, then the remaining 1-3. */
AVX2 INLINE void strip(int rows, long N, long K, const float *A, long lda, const float *B, long ldb,
                       float *C, long ldc, int accumulate) {
    long n = 0;
    for (; n + 4 <= N; n += 4) block(rows, 4, K, A, lda, B + n * ldb, ldb, C + n, ldc, accumulate);
    switch (N - n) {
    case 3: block(rows, 3, K, A, lda, B + n * ldb, ldb, C + n, ldc, accumulate); break;
    case 2: block(rows, 2, K, A, lda, B + n * ldb, ldb, C + n, ldc, accumulate); break;
    case 1: block(rows, 1, K, A, lda, B + n * ldb, ldb, C + n, ldc, accumulate); break;
    default: break;
    }
}

AVX2 void rk_sgemm_abt_avx2(long M, long N, long K, const float *A, long lda, const float *B, long ldb,
                            float *C, long ldc, int accumulate) {
    long m = 0;
    for (; m + 3 <= M; m += 3) strip(3, N, K, A + m * lda, lda, B, ldb, C + m * ldc, ldc, accumulate);
    switch (M - m) {
    case 2: strip(2, N, K, A + m * lda, lda, B, ldb, C + m * ldc, ldc, accumulate); break;
    case 1: strip(1, N, K, A + m * lda, lda, B, ldb, C + m * ldc, ldc, accumulate); break;
    default: break;
    }
}

#else
#include <stdlib.h>
void rk_sgemm_abt_avx2(long M, long N, long K, const float *A, long lda, const float *B, long ldb,
                       float *C, long ldc, int accumulate) { abort(); }
#endif
