import XCTest
import CKernels
import COpenBLAS
@testable import RobustCore

/// CKernels' C kernels against OpenBLAS or the portable code.
final class KernelTests: XCTestCase {
    /// CKernels' small GEMM against OpenBLAS: every remainder of the 6-row blocks and 16-column
    /// panels, padded strides, K past the packed panel's 256 rows, and no write outside C's m rows
    /// and n columns.
    func testSmallGemmMatchesBLAS() throws {
        guard Kernels.cpuHasAVX2 else { throw XCTSkip("this CPU has no AVX2/FMA") }
        var rng = RNG(seed: 8)
        for (m, n, k) in [(16, 448, 16), (1, 1, 1), (5, 17, 3), (7, 15, 9), (13, 37, 33), (6, 16, 64), (12, 100, 300),
                          (2, 8, 1), (11, 31, 70)] {
            let lda = k + 3, ldb = n + 5, ldc = n + 2
            let a = (0..<(m * lda)).map { _ in Float(rng.normal()) }
            let b = (0..<(k * ldb)).map { _ in Float(rng.normal()) }
            // C has one row more than the product: it must stay untouched, like the columns past n
            var c = [Float](repeating: .nan, count: (m + 1) * ldc), ref = [Float](repeating: 0, count: (m + 1) * ldc)
            rk_sgemm_small_avx2(m, n, k, a, lda, b, ldb, &c, ldc)
            BLAS.gemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &ref, ldc: ldc)
            var wrong = 0  // counted so that a NaN (an element never written) fails too
            for i in 0..<m {
                for j in 0..<n where !(abs(c[i * ldc + j] - ref[i * ldc + j]) <= 1e-5 * Float(k).squareRoot()) { wrong += 1 }
                for j in n..<ldc { XCTAssertTrue(c[i * ldc + j].isNaN, "\(m)x\(n)x\(k): wrote column \(j) of row \(i)") }
            }
            XCTAssertEqual(wrong, 0, "\(m)x\(n)x\(k)")
            XCTAssertTrue(c[(m * ldc)...].allSatisfy(\.isNaN), "\(m)x\(n)x\(k): wrote row \(m)")
        }
    }

    /// CKernels' A B^T kernel (the Winograd weight gradient) against OpenBLAS: every remainder
    /// of its 3 x 4 blocks, K with and without a tail of 1-7, padded strides whose padding holds
    /// NaN (a read past a row's K floats would reach the result), overwrite and accumulate, and
    /// no write outside C's m rows and n columns.
    func testABtGemmMatchesBLAS() throws {
        guard Kernels.cpuHasAVX2 else { throw XCTSkip("this CPU has no AVX2/FMA") }
        var rng = RNG(seed: 9)
        for (m, n, k) in [(12, 12, 1280), (1, 1, 1), (2, 3, 7), (4, 5, 9), (5, 6, 16), (7, 11, 33), (3, 4, 8),
                          (13, 9, 100), (64, 48, 20), (6, 7, 4), (5, 9, 11), (7, 6, 3)] {
            let lda = k + 3, ldb = k + 5, ldc = n + 2
            var a = [Float](repeating: .nan, count: m * lda), b = [Float](repeating: .nan, count: n * ldb)
            for i in 0..<m { for j in 0..<k { a[i * lda + j] = Float(rng.normal()) } }
            for i in 0..<n { for j in 0..<k { b[i * ldb + j] = Float(rng.normal()) } }
            for accumulate in [false, true] {
                // C has one row more than the product: it must stay untouched, like the columns past n
                var c = [Float](repeating: .nan, count: (m + 1) * ldc), ref = [Float](repeating: 0, count: (m + 1) * ldc)
                if accumulate {
                    for i in 0..<m { for j in 0..<n { c[i * ldc + j] = Float(i - j); ref[i * ldc + j] = Float(i - j) } }
                }
                rk_sgemm_abt_avx2(m, n, k, a, lda, b, ldb, &c, ldc, accumulate ? 1 : 0)
                BLAS.gemm(transB: true, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: accumulate ? 1 : 0,
                          c: &ref, ldc: ldc)
                var wrong = 0  // counted so that a NaN (an element never written, or padding read) fails too
                for i in 0..<m {
                    for j in 0..<n where !(abs(c[i * ldc + j] - ref[i * ldc + j]) <= 1e-5 * Float(k).squareRoot()) { wrong += 1 }
                    for j in n..<ldc { XCTAssertTrue(c[i * ldc + j].isNaN, "\(m)x\(n)x\(k): wrote column \(j) of row \(i)") }
                }
                XCTAssertEqual(wrong, 0, "\(m)x\(n)x\(k) accumulate \(accumulate)")
                XCTAssertTrue(c[(m * ldc)...].allSatisfy(\.isNaN), "\(m)x\(n)x\(k): wrote row \(m)")
            }
        }
    }

    /// rk_im2col_channel where the kernel is larger than the padded plane at stride > 1 (the
    /// truncating output size gives one row there; Conv2d rejects the shape, the C function must
    /// still stay inside its input): each tap reads x where it lands and zero elsewhere, and no
    /// column past the one output is written.
    func testIm2colKernelLargerThanPlane() {
        for (h, w, k, stride) in [(2, 2, 3, 2), (1, 2, 3, 3), (2, 1, 5, 6)] {
            let x = (0..<(h * w)).map { Float($0 + 1) }
            var col = [Float](repeating: .nan, count: k * k * 2)  // ld 2: column 1 must stay NaN
            rk_im2col_channel(x, Int32(h), Int32(w), Int32(k), Int32(stride), 0, &col, 2, 0)
            for ky in 0..<k {
                for kx in 0..<k {
                    let expected: Float = ky < h && kx < w ? x[ky * w + kx] : 0
                    XCTAssertEqual(col[(ky * k + kx) * 2], expected, "\(h)x\(w) k\(k) s\(stride) tap \(ky),\(kx)")
                    XCTAssertTrue(col[(ky * k + kx) * 2 + 1].isNaN, "\(h)x\(w) k\(k): wrote past the output")
                }
            }
        }
    }

    /// rk_split_parity (the stride-2 pack and im2col split rows by column parity): every
    /// length from 0 to 40 with every count the callers use (even: half the row rounded up;
    /// odd: rounded down, or one less), AVX2 and portable, against the definition; nothing
    /// written past either count (NaN sentinels).
    func testSplitParityMatchesDefinition() {
        for avx2: Int32 in Kernels.cpuHasAVX2 ? [0, 1] : [0] {
            for n in 0...40 {
                let src = (0..<n).map { Float($0 + 1) }
                let counts: [(Int, Int)] = [((n + 1) / 2, n / 2), (n / 2, n / 2), ((n + 1) / 2, max(0, n / 2 - 1))]
                for (ne, no) in counts {
                    var even = [Float](repeating: .nan, count: ne + 9), odd = [Float](repeating: .nan, count: no + 9)
                    rk_split_parity(src, n, &even, ne, &odd, no, avx2)
                    let what = "n \(n) even \(ne) odd \(no) avx2 \(avx2)"
                    XCTAssertEqual(Array(even[..<ne]), (0..<ne).map { src[2 * $0] }, what)
                    XCTAssertEqual(Array(odd[..<no]), (0..<no).map { src[2 * $0 + 1] }, what)
                    let untouched = even[ne...].allSatisfy { $0.isNaN } && odd[no...].allSatisfy { $0.isNaN }
                    XCTAssertTrue(untouched, "wrote past: " + what)
                }
            }
        }
    }

    /// A whole width-4 ResNet-18 training step (16x16 images: F(4x4) on the first stage, F(2x2)
    /// and im2col further on, stride-2 rows) with the AVX2 kernels and with the portable code:
    /// the same loss and parameter gradients up to rounding.
    func testTrainingStepAgreesWithPortableCode() throws {
        guard Kernels.cpuHasAVX2 else { throw XCTSkip("this CPU has no AVX2/FMA") }
        let saved = (Kernels.avx2, Winograd.minTiles, Winograd.minTilesSmallGemm)
        defer { Kernels.avx2 = saved.0; Winograd.minTiles = saved.1; Winograd.minTilesSmallGemm = saved.2 }
        Winograd.minTiles = 0; Winograd.minTilesSmallGemm = 0
        var rng = RNG(seed: 12)
        let x = Tensor([3, 16, 16, 16])
        for i in 0..<x.count { x[i] = rng.normal() }
        let labels: [Int32] = (0..<16).map { Int32($0 % 4) }
        var results: [[Float]] = []
        for avx2 in [false, true] {
            Kernels.avx2 = avx2
            let m = ResNet18(width: 4, numClasses: 4)
            m.initialize(seed: 1)
            let ce = SoftmaxCrossEntropy()
            let loss = labels.withUnsafeBufferPointer { ce(m.forward(x, mode: .train), $0) }.loss
            m.backward(ce.inputGrad)
            results.append([Float(loss)] + m.parameters.filter(\.isTrainable).flatMap { $0.grad!.array })
        }
        XCTAssertEqual(results[0][0], results[1][0], accuracy: 1e-5 * abs(results[0][0]), "loss")
        XCTAssertLessThan(relativeError(results[1], results[0]), 1e-4)
    }
}
