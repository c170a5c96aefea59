// The one place the engine calls a BLAS. Everything (convolution, linear) goes through
// `gemm`, so another provider (Apple's Accelerate on macOS) can stand in here alone.
import COpenBLAS

public enum BLAS {
    static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// The kernel set OpenBLAS chose for this CPU at load time ("Haswell", "Zen", "SkylakeX"...).
    public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// Whether every element of a product gets the same bits however the product is cut into
    /// calls (by columns or by rows). The engine's splits (slices per worker, bands, channel
    /// splits) give bit-identical results across worker counts only where this holds. Measured
    /// with OpenBLAS 0.3.21: the engine's results matched across worker counts on AMD Zen 3; on
    /// AMD Zen 5, a CPU family 0.3.21 does not know, it picks its Haswell kernels, and there
    /// some elements of a product depend on the call's shape in the last bits. Probed once, on
    /// a few products of convolution shapes cut by columns (even and odd widths, like the
    /// engine's per-worker splits) and by rows of 5 (odd tails, stricter than the engine's
    /// splits), about 10 ms; it may say no where the engine's own splits happen to agree (then only
    /// the speed of the adaptive worker choice is lost): it errs towards no. The tests check it
    /// against the engine on 1, 2 and 3 workers.
    public static let splitInvariant: Bool = {
        _ = Threads.configured  // OpenBLAS single-threaded first, as the engine calls it
        // Column cuts of a fixed width (even: 1024, 100, 24, 16) and into three parts at n*t/3,
        // as the engine's per-worker splits cut (odd widths: 1365, 341, 85, 21); row cuts of 5
        // (odd tails); a deep layer's narrow product (128 x 1152 x 64).
        let products: [(m: Int, k: Int, n: Int, width: Int)] = [
            (16, 27, 4096, 1024), (64, 576, 1024, 100), (64, 576, 256, 24), (128, 1152, 64, 16)]
        var state: UInt32 = 12345  // a fixed LCG: the probe must not depend on any RNG's state
        func next() -> Float { state = state &* 1_664_525 &+ 1_013_904_223; return Float(state >> 8) / Float(1 << 24) - 0.5 }
        for (m, k, n, width) in products {
            var a = [Float](repeating: 0, count: m * k), b = [Float](repeating: 0, count: k * n)
            for i in a.indices { a[i] = next() }
            for i in b.indices { b[i] = next() }
            /// C = A B computed tile by tile, one call per (row range, column range).
            func product(rows: [Int], columns: [Int]) -> [Float] {
                var c = [Float](repeating: 0, count: m * n)
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                    for (i0, i1) in zip(rows, rows.dropFirst()) {
                        for (j0, j1) in zip(columns, columns.dropFirst()) {
                            gemm(m: i1 - i0, n: j1 - j0, k: k, a: pa.baseAddress! + i0 * k, lda: k, b: pb.baseAddress! + j0, ldb: n,
                                 c: pc.baseAddress! + i0 * n + j0, ldc: n)
                        }
                    }
                } } }
                return c
            }
            let allRows = [0, m], allColumns = [0, n]
            let whole = product(rows: allRows, columns: allColumns)
            // Compared as floats: the products are finite, and equal finite floats are the same
            // bits (the inputs give no zero sums, so no -0 vs +0).
            for (rows, columns) in [(allRows, Array(stride(from: 0, to: n, by: width)) + [n]),
                                    (allRows, (0...3).map { n * $0 / 3 }),
                                    (Array(stride(from: 0, to: m, by: 5)) + [m], allColumns)]
            where product(rows: rows, columns: columns) != whole {
                return false
            }
        }
        return true
    }()

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
