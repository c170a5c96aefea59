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
            let byWidth = Array(stride(from: 0, to: n, by: width)) + [n]
            let byThirds = (0...3).map { n * $0 / 3 }
            var a = [Float](repeating: 0, count: m * k), b = [Float](repeating: 0, count: k * n)
            for i in a.indices { a[i] = next() }
            for i in b.indices { b[i] = next() }
            var whole = [Float](repeating: 0, count: m * n)
            var pieces: [[Float]] = []
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                let pa = pa.baseAddress!, pb = pb.baseAddress!
                whole.withUnsafeMutableBufferPointer { pc in
                    gemm(m: m, n: n, k: k, a: pa, lda: k, b: pb, ldb: n, c: pc.baseAddress!, ldc: n)
                }
                for bounds in [byWidth, byThirds] {
                    var c = [Float](repeating: 0, count: m * n)
                    c.withUnsafeMutableBufferPointer { pc in
                        for (j0, j1) in zip(bounds, bounds.dropFirst()) {
                            gemm(m: m, n: j1 - j0, k: k, a: pa, lda: k, b: pb + j0, ldb: n, c: pc.baseAddress! + j0, ldc: n)
                        }
                    }
                    pieces.append(c)
                }
                var c = [Float](repeating: 0, count: m * n)
                c.withUnsafeMutableBufferPointer { pc in
                    for i in stride(from: 0, to: m, by: 5) {
                        gemm(m: min(5, m - i), n: n, k: k, a: pa + i * k, lda: k, b: pb, ldb: n, c: pc.baseAddress! + i * n, ldc: n)
                    }
                }
                pieces.append(c)
            } }
            // Compared as floats: the products are finite, and equal finite floats are the same
            // bits (the inputs give no zero sums, so no -0 vs +0).
            if pieces.contains(where: { $0 != whole }) { return false }
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
