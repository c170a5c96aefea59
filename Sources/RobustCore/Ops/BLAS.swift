// The one place the engine calls a BLAS. Everything (convolution, linear) goes through
// `gemm`, so another provider (Apple's Accelerate on macOS) can stand in here alone.
import COpenBLAS

public enum BLAS {
    static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// Row-major C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C.
    /// lda/ldb/ldc are the row strides of A, B, C as stored.
    @inline(__always)
    public static func gemm(transA: Bool = false, transB: Bool = false,
                            m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor,
                    transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }
}
