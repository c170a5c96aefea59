// The engine's parallel loops. OpenBLAS runs single-threaded inside them: the engine splits
// each GEMM itself.
import CKernels
import Dispatch

public enum Threads {
    /// Worker count for the engine's own loops on this thread: the configured count, or fewer
    /// while a limit is in force on the calling thread (`limited(to:_:)`, which the single-image
    /// forward pass uses when one thread is faster: WorkerChoice).
    public static var count: Int {
        let limit = Int(rk_pool_thread_limit())
        return limit > 0 ? min(limit, configured) : configured
    }

    /// The count set for the process (set(_:), ROBUST_NUM_THREADS, or the cores).
    nonisolated(unsafe) public private(set) static var configured: Int = {
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

    /// Global: not while other threads run the engine.
    public static func set(_ n: Int) {
        configured = max(1, n)
    }

    /// Runs body with at most `n` workers for the engine's loops that the calling thread starts
    /// (other threads are unaffected); n <= 0 lifts the limit.
    @inline(__always)
    public static func limited<T>(to n: Int, _ body: () -> T) -> T {
        let was = rk_pool_thread_limit()
        rk_pool_set_thread_limit(Int32(clamping: max(n, 0)))
        defer { rk_pool_set_thread_limit(was) }
        return body()
    }
}

/// Contiguous chunks per worker in parallelChunks (ROBUST_CHUNKS_PER_WORKER; 1: one chunk each).
/// The workers claim chunks as they become free, so with several a worker on a core that runs
/// slower for a while (this VM: one of the two, for seconds at a time) takes fewer, instead of
/// the other waiting for it at the end of every batch-norm pass, residual join and SGD step.
/// Chunk boundaries depend only on n, minChunk and the worker count, so results do not depend
/// on which worker ran a chunk.
nonisolated(unsafe) var chunksPerWorker: Int = {
    if let s = getenvString("ROBUST_CHUNKS_PER_WORKER"), let v = Int(s), v >= 1 { return v }
    return 4
}()

/// Runs body(range) over `n` items split into contiguous chunks (at least minChunk items each,
/// up to chunksPerWorker per worker) on at most Threads.count workers.
@inline(__always)
public func parallelChunks(_ n: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let most = max(1, n / max(minChunk, 1))
    let workers = min(Threads.count, most)
    if workers <= 1 || n <= 1 {
        if n > 0 { body(0..<n) }
        return
    }
    let chunks = min(most, workers * chunksPerWorker)
    // The callers hand disjoint ranges to the workers; that is what makes sharing safe.
    // The job has one index per worker (the pool lets every thread it has take an index, so
    // the index count is what caps the threads at `workers`), and each claims chunks in turn.
    withoutActuallyEscaping(body) { body in
        var next = 0
        withUnsafeMutablePointer(to: &next) { counter in
            var job = PoolJob(n: n, chunks: chunks, body: body, next: counter)
            // The spinning pool (robust_pool.h); Dispatch when it is busy (another thread's loop,
            // or a loop inside a loop) or turned off.
            let ran = Threads.usePool && withUnsafeMutablePointer(to: &job) { jp in
                rk_pool_run(workers, Int32(workers - 1), { ctx, _ in
                    let job = ctx!.assumingMemoryBound(to: PoolJob.self)
                    job.pointee.runClaimed()
                }, UnsafeMutableRawPointer(jp)) == 1
            }
            if !ran {
                nonisolated(unsafe) let job = job
                DispatchQueue.concurrentPerform(iterations: workers) { _ in job.runClaimed() }
            }
        }
    }
}

/// One parallelChunks call as the pool's C callback sees it: n items in `chunks` chunks,
/// claimed through `next` by the workers.
private struct PoolJob {
    let n: Int, chunks: Int
    let body: (Range<Int>) -> Void
    let next: UnsafeMutablePointer<Int>
    @inline(__always)
    func runClaimed() {
        claimEach(next, below: chunks) { c in
            let lo = n * c / chunks, hi = n * (c + 1) / chunks
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// body(i) for each index below `count` that this thread claims from the shared `counter`
/// (robust_pool.h's atomic fetch-and-add), until none are left: how the workers of one job
/// share its chunks or slices, each taking the next as soon as it is free.
@inline(__always)
func claimEach(_ counter: UnsafeMutablePointer<Int>, below count: Int, _ body: (Int) -> Void) {
    while true {
        let i = rk_pool_claim(counter)
        if i >= count { return }
        body(i)
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

/// The slices of one parallel job (images of a batch, in groups) handed to its workers. Each
/// worker keeps its own buffers, so the job runs one body per worker, and the body takes
/// slices until none are left. Dynamically (the default) the next free worker claims the next
/// slice: on this VM one of the two cores sometimes runs far slower than the other for
/// seconds, and with a fixed share per worker the faster one then waited for the slower at the
/// end of every layer. (Still so on 2026-12-05, late, apart from the phase in which the two vCPUs
/// stop sharing a cache: single-image traces with a fast cache-line round trip had one thread
/// 1.2-1.3x slower than the other in every job; bench/results/perf/timeline-w32-2026-12-05.txt.)
/// Statically (ROBUST_DYNAMIC_SLICES=0) worker t takes t, t + T, ...
/// Only for slices whose results do not depend on which worker computed them: forward passes,
/// and reductions whose partial sums belong to the slices rather than the workers (SliceGroups).
struct SliceClaims {
    nonisolated(unsafe) static var dynamic: Bool = getenvString("ROBUST_DYNAMIC_SLICES") != "0"
    /// With dynamic claims: each pool thread first takes its own contiguous block of the
    /// slices (block k for the thread numbered k, rk_pool_thread_no), so the same thread works
    /// on the same images in every layer, then claims what is left of the others' blocks one
    /// slice at a time (ROBUST_SLICE_AFFINITY=0: any free worker takes the next slice).
    /// Why: this VM's two vCPUs sometimes stop sharing a last-level cache (a cache line's
    /// round trip between them goes from about 70 to about 350 ns: bench/vcpu_pingpong.c), and
    /// then every activation that one worker wrote and the other reads crosses between them.
    /// `bench --ab slice-affinity`, width-16 inference at batch 256, alternating with the
    /// round-trip probe (48 cycles): median 0.937 [0.934-0.974] in the 10 runs after a slow
    /// round trip (about 76 -> 71 ms, the fast phase's speed), 0.999 [0.945-1.004] after a
    /// fast one; training steps median 0.982 [0.975-0.998] in the 10 slow-phase runs (batch
    /// norm and the joins still split by channels), 1.00 [0.977-1.022] otherwise.
    nonisolated(unsafe) static var affinity: Bool = getenvString("ROBUST_SLICE_AFFINITY") != "0"
    let count: Int, workers: Int
    private let counter: UnsafeMutablePointer<Int>?
    private let affine: Bool

    /// Runs body with the claims of `count` slices over `workers` workers; the parallel job
    /// must run inside body. The claim counters live on the caller's stack (a layer call
    /// used to allocate them on the heap), one cache line each.
    static func with<R>(count: Int, workers: Int, _ body: (SliceClaims) throws -> R) rethrows -> R {
        let affine = SliceClaims.affinity && SliceClaims.dynamic && workers > 1
        // affine: one claim counter per block, the next slice of that block
        let counters = affine ? workers : SliceClaims.dynamic ? 1 : 0
        let line = 64 / MemoryLayout<Int>.stride
        return try withUnsafeTemporaryAllocation(byteCount: max(counters, 1) * 64, alignment: 64) { raw in
            let c = raw.baseAddress!.bindMemory(to: Int.self, capacity: max(counters, 1) * line)
            c.initialize(repeating: 0, count: max(counters, 1) * line)
            defer { c.deinitialize(count: max(counters, 1) * line) }
            return try body(SliceClaims(count: count, workers: workers, counter: counters > 0 ? c : nil, affine: affine))
        }
    }

    private init(count: Int, workers: Int, counter: UnsafeMutablePointer<Int>?, affine: Bool) {
        (self.count, self.workers, self.counter, self.affine) = (count, workers, counter, affine)
    }

    /// body(i) for the slices worker t takes.
    @inline(__always)
    func forEach(worker t: Int, _ body: (Int) -> Void) {
        if affine, let c = counter {
            let home = Int(rk_pool_thread_no()) % workers
            for k in 0..<workers {
                let b = (home + k) % workers
                let lo = count * b / workers, n = count * (b + 1) / workers - lo
                claimEach(c + (64 / MemoryLayout<Int>.stride) * b, below: n) { body(lo + $0) }
            }
            return
        }
        if let c = counter { return claimEach(c, below: count, body) }
        for i in Swift.stride(from: t, to: count, by: workers) { body(i) }
    }
}

/// Part t of `parts` of [0, count), cut at multiples of `block` (the GEMM and direct kernels'
/// register blocks; 1: anywhere). Every split of output rows or channels over the workers uses
/// it, so that a layer's sums do not depend on which path cut it.
@inline(__always)
public func blockRange(_ t: Int, of parts: Int, count: Int, block: Int) -> Range<Int> {
    let blocks = (count + block - 1) / block
    return min(count, block * (blocks * t / parts))..<min(count, block * (blocks * (t + 1) / parts))
}

/// body(i) for i in 0..<n, on the workers when `parallel`, else inline.
@inline(__always)
public func forEach(_ n: Int, parallel: Bool, work: Int = Int.max, _ body: (Int) -> Void) {
    if parallel { parallelFor(n, work: work, body) } else { for i in 0..<n { body(i) } }
}

/// A record of the worker pool's jobs while a body runs (robust_pool.h's trace): what each
/// thread ran and when, for finding where a parallel pass waits. Diagnostics only; run one
/// trace at a time and nothing else on the pool meanwhile.
public enum PoolTrace {
    public struct Event: Sendable {
        /// The job's sequence number (events of one job share it).
        public var job: Int
        /// The index a thread ran, or -1 for the job itself (published at t0, returned at t1).
        public var index: Int
        /// 0: the thread that called the parallel loop; k > 0: the pool's k-th worker.
        public var thread: Int
        /// The CPU the thread was on when the index returned.
        public var cpu: Int
        /// Monotonic nanoseconds, the clock of `now()`.
        public var t0: Int, t1: Int
    }

    public static func now() -> Int { rk_pool_now_ns() }

    /// Runs body with the trace on and returns the events, sorted by start time. Events past
    /// `capacity` are dropped.
    public static func record(capacity: Int, _ body: () -> Void) -> [Event] {
        var buf = [rk_pool_event](repeating: rk_pool_event(), count: max(capacity, 1))
        let n = buf.withUnsafeMutableBufferPointer { b -> Int in
            rk_pool_trace(b.baseAddress, b.count)
            body()
            let n = rk_pool_trace_count()
            rk_pool_trace(nil, 0)
            return n
        }
        return buf[0..<n].map { Event(job: $0.job, index: $0.index, thread: Int($0.thread), cpu: Int($0.cpu), t0: $0.t0, t1: $0.t1) }
            .sorted { ($0.t0, $0.index) < ($1.t0, $1.index) }
    }
}
