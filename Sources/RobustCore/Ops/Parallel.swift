// The engine's parallel loops. OpenBLAS runs single-threaded inside them: the engine splits
// each GEMM itself.
import CKernels
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

    /// The engine's own spinning workers (robust_pool.h) run the parallel loops;
    /// ROBUST_POOL=dispatch uses DispatchQueue.concurrentPerform instead, for comparison.
    nonisolated(unsafe) static var usePool: Bool = getenvString("ROBUST_POOL") != "dispatch"

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
        var job = PoolJob(n: n, chunks: chunks, body: body)
        // The spinning pool (robust_pool.h); Dispatch when it is busy (another thread's loop,
        // or a loop inside a loop) or turned off.
        let ran = Threads.usePool && withUnsafeMutablePointer(to: &job) { jp in
            rk_pool_run(chunks, Int32(chunks - 1), { ctx, c in
                let job = ctx!.assumingMemoryBound(to: PoolJob.self)
                job.pointee.run(c)
            }, UnsafeMutableRawPointer(jp)) == 1
        }
        if !ran {
            nonisolated(unsafe) let job = job
            DispatchQueue.concurrentPerform(iterations: chunks) { c in job.run(c) }
        }
    }
}

/// One parallelChunks call as the pool's C callback sees it: chunk c of n items.
private struct PoolJob {
    let n: Int, chunks: Int
    let body: (Range<Int>) -> Void
    @inline(__always)
    func run(_ c: Int) {
        let lo = n * c / chunks, hi = n * (c + 1) / chunks
        if lo < hi { body(lo..<hi) }
    }
}

/// Below this much work (roughly, scalar operations) a loop runs on the calling thread:
/// waking a sleeping worker costs tens of microseconds, more than the work saves (measured:
/// single-image inference at width 16 took 2.6 ms with every loop split, 1.7 ms on one thread).
public let minParallelWork = 65_536

/// Below this many floating-point operations a convolution's GEMM (and the Winograd phases
/// around it) stays on the calling thread. With Dispatch's parked workers the break-even was
/// 32 MFLOP (single-image latency at widths 64/32/16, 2 threads: 1 MFLOP 16.6/5.8/2.0 ms,
/// 32 MFLOP 15.2/4.3/1.0 ms); with the spinning pool (robust_pool.h) a hand-off costs about
/// 0.2 us and 2 MFLOP was worth splitting (paired A/B against 32 MFLOP: latency 0.86x at
/// widths 64 and 16), then 1 MFLOP, which splits a single image's 32x32 Winograd layers at
/// width 16 (1.2 MFLOP each; paired A/B against 2 MFLOP, 30 pairs: width-16 latency 0.938x,
/// 22 pairs faster; 0.5 MFLOP, which also splits the stem, gained nothing more: 1.009x).
/// Large batches are unaffected: they split by slices of images.
nonisolated(unsafe) public var minParallelFlops: Int = {
    if let s = getenvString("ROBUST_MIN_PARALLEL_FLOPS"), let v = Int(s), v >= 0 { return v }
    return 1 << 20
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
