// Parallel loops for the memory-bound ops (GEMMs are threaded by OpenBLAS itself).
import Dispatch

public enum Threads {
    /// Worker count for the engine's own loops. OpenBLAS is told the same number.
    nonisolated(unsafe) public private(set) static var count: Int = {
        // The engine splits GEMMs across its own workers and calls OpenBLAS single-threaded:
        // OpenBLAS's idle workers spin for a while after each call, and on a 2-core machine
        // they steal the core from whatever runs next (measured: 30-50% slower, erratic).
        BLAS.setThreads(1)
        return defaultCount()
    }()

    static func defaultCount() -> Int {
        if let s = getenvString("ROBUST_NUM_THREADS"), let n = Int(s), n > 0 { return n }
        return max(1, systemCoreCount())
    }

    public static func set(_ n: Int) {
        count = max(1, n)
    }
}

/// Runs body(range) over `n` items split into at most Threads.count contiguous chunks.
@inline(__always)
public func parallelChunks(_ n: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let chunks = min(Threads.count, max(1, n / max(minChunk, 1)))
    if chunks <= 1 || n <= 1 {
        if n > 0 { body(0..<n) }
        return
    }
    // The callers hand disjoint ranges to the workers; that is what makes sharing safe.
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let body = body
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = n * c / chunks, hi = n * (c + 1) / chunks
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// Below this much work (roughly, scalar operations) a loop runs on the calling thread:
/// waking a sleeping worker costs tens of microseconds, more than the work saves (measured:
/// single-image inference at width 16 took 2.6 ms with every loop split, 1.7 ms on one thread).
public let minParallelWork = 65_536

/// Below this many floating-point operations a convolution's GEMM (and the Winograd phases
/// around it) stays on the calling thread. Measured single-image latency with 2 threads,
/// widths 64/32/16: every layer above 1 MFLOP split, 16.6/5.8/2.0 ms; above 32 MFLOP,
/// 15.2/4.3/1.0 ms (the split GEMMs each re-pack the weights, and every hand-off wakes a
/// sleeping worker). Large batches are unaffected: they split by slices of images.
nonisolated(unsafe) public var minParallelFlops: Int = {
    if let s = getenvString("ROBUST_MIN_PARALLEL_FLOPS"), let v = Int(s), v >= 0 { return v }
    return 1 << 25
}()

/// Runs body(i) for i in 0..<n, in chunks spread over the worker threads. `work` estimates the
/// whole loop's cost; small loops stay on the calling thread.
@inline(__always)
public func parallelFor(_ n: Int, work: Int = Int.max, _ body: (Int) -> Void) {
    if work < minParallelWork {
        for i in 0..<n { body(i) }
        return
    }
    parallelChunks(n) { r in for i in r { body(i) } }
}

/// body(i) for i in 0..<n, on the workers when `parallel`, else inline.
@inline(__always)
public func forEach(_ n: Int, parallel: Bool, work: Int = Int.max, _ body: (Int) -> Void) {
    if parallel { parallelFor(n, work: work, body) } else { for i in 0..<n { body(i) } }
}
