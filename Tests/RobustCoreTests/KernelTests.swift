import XCTest
import CKernels
import COpenBLAS
@testable import RobustCore

/// CKernels' small GEMM against OpenBLAS: every remainder of the 6-row blocks and 16-column
/// panels, padded strides, K past the packed panel's 256 rows, and no write outside C's rows.
final class KernelTests: XCTestCase {
    func testSmallGemmMatchesBLAS() throws {
        guard Kernels.cpuHasAVX2 else { throw XCTSkip("this CPU has no AVX2/FMA") }
        var rng = RNG(seed: 8)
        for (m, n, k) in [(16, 448, 16), (1, 1, 1), (5, 17, 3), (7, 15, 9), (13, 37, 33), (6, 16, 64), (12, 100, 300),
                          (2, 8, 1), (11, 31, 70)] {
            let lda = k + 3, ldb = n + 5, ldc = n + 2
            let a = (0..<(m * lda)).map { _ in Float(rng.normal()) }
            let b = (0..<(k * ldb)).map { _ in Float(rng.normal()) }
            var c = [Float](repeating: .nan, count: m * ldc), ref = [Float](repeating: 0, count: m * ldc)
            rk_sgemm_small_avx2(m, n, k, a, lda, b, ldb, &c, ldc)
            BLAS.gemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &ref, ldc: ldc)
            var wrong = 0  // counted so that a NaN (an element never written) fails too
            for i in 0..<m {
                for j in 0..<n where !(abs(c[i * ldc + j] - ref[i * ldc + j]) <= 1e-5 * Float(k).squareRoot()) { wrong += 1 }
                for j in n..<ldc { XCTAssertTrue(c[i * ldc + j].isNaN, "\(m)x\(n)x\(k): wrote column \(j) of row \(i)") }
            }
            XCTAssertEqual(wrong, 0, "\(m)x\(n)x\(k)")
        }
    }
}
