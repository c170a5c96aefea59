import XCTest
import Dispatch
import Synchronization
import CKernels
@testable import RobustCore

/// The spinning worker pool (robust_pool.h) behind every parallel loop of the engine.
/// Run by the test command also under ThreadSanitizer (scripts/tsan-tests.txt).
final class PoolTests: XCTestCase {
    /// Counts how often the pool called each index.
    final class Counts: @unchecked Sendable {
        var hits: [Int32]
        init(_ n: Int) { hits = [Int32](repeating: 0, count: n) }
    }

    func run(_ n: Int, workers: Int32, _ counts: Counts) -> Int32 {
        counts.hits.withUnsafeMutableBufferPointer { b in
            rk_pool_run(n, workers, { ctx, i in
                ctx!.assumingMemoryBound(to: Int32.self)[i] += 1
            }, UnsafeMutableRawPointer(b.baseAddress!))
        }
    }

    func testEveryIndexExactlyOnce() {
        // short jobs back to back (workers still spinning), several sizes and worker counts,
        // then a job after the workers have gone to sleep
        for (n, workers) in [(1, 1), (2, 1), (3, 2), (7, 3), (1000, 1), (5000, 3), (64, 0)] {
            for _ in 0..<50 {
                let c = Counts(n)
                XCTAssertEqual(run(n, workers: Int32(workers), c), 1)
                XCTAssertEqual(c.hits, [Int32](repeating: 1, count: n), "n \(n) workers \(workers)")
            }
        }
        let savedSpin = rk_pool_spin_us()
        defer { rk_pool_set_spin_us(savedSpin) }
        rk_pool_set_spin_us(0)
        usleep(2000)
        let c = Counts(100)
        XCTAssertEqual(run(100, workers: 2, c), 1)
        XCTAssertEqual(c.hits, [Int32](repeating: 1, count: 100))
        XCTAssertEqual(rk_pool_run(0, 2, { _, _ in XCTFail("called for n = 0") }, nil), 1)
        XCTAssertEqual(rk_pool_run(1 << 20, 2, { _, _ in XCTFail("called for n >= 2^20") }, nil), 0)
    }

    /// parallelChunks cuts [0, n) into contiguous chunks of at least minChunk items, up to
    /// chunksPerWorker per worker, and runs each exactly once; the cut depends only on n,
    /// minChunk and the worker count, never on which worker took a chunk.
    func testParallelChunksCoverEveryItemOnceInContiguousChunks() {
        let saved = (Threads.count, chunksPerWorker)
        defer { Threads.set(saved.0); chunksPerWorker = saved.1 }
        for (threads, perWorker) in [(2, 4), (3, 4), (2, 1), (3, 2)] {
            Threads.set(threads)
            chunksPerWorker = perWorker
            for (n, minChunk) in [(1, 1), (5, 1), (8, 1), (100, 7), (1000, 1), (16384 * 3 + 5, 16384), (9, 10)] {
                var cuts: [[Range<Int>]] = []
                for _ in 0..<5 {
                    // ends[lo] = the end of the chunk that starts at lo; chunks are disjoint, so
                    // are these writes (and -2 marks a start seen twice)
                    var ends = [Int](repeating: -1, count: n)
                    ends.withUnsafeMutableBufferPointer { e in
                        nonisolated(unsafe) let e = e
                        parallelChunks(n, minChunk: minChunk) { r in e[r.lowerBound] = e[r.lowerBound] == -1 ? r.upperBound : -2 }
                    }
                    XCTAssertFalse(ends.contains(-2), "a chunk ran twice")
                    cuts.append(ends.enumerated().filter { $0.element >= 0 }.map { $0.offset..<$0.element })
                }
                let what = "n \(n) min \(minChunk) threads \(threads) chunks a worker \(perWorker)"
                let ranges = cuts[0]
                XCTAssertEqual(ranges.first?.lowerBound, 0, what)
                XCTAssertEqual(ranges.last?.upperBound, n, what)
                for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound, "contiguous, once: " + what) }
                XCTAssertLessThanOrEqual(ranges.count, threads * perWorker, what)
                if ranges.count > 1 { XCTAssertTrue(ranges.allSatisfy { $0.count >= minChunk }, "chunk size: " + what) }
                XCTAssertEqual(ranges.count, min(max(1, n / minChunk), threads * perWorker, n), "chunk count: " + what)
                for c in cuts.dropFirst() { XCTAssertEqual(c, ranges, "the same cut every time: " + what) }
            }
        }
    }

    /// SliceClaims with affinity: each thread starts on its own block of the slices and then
    /// takes what is left of the others', so every slice runs exactly once, whatever the counts
    /// (fewer slices than workers included) and however the threads come. The pool thread
    /// numbers are those rk_pool_thread_no gives: 0 on the caller, 1... on workers.
    func testAffineSliceClaimsTakeEverySliceOnce() {
        let saved = (Threads.count, SliceClaims.dynamic, SliceClaims.affinity)
        defer { Threads.set(saved.0); SliceClaims.dynamic = saved.1; SliceClaims.affinity = saved.2 }
        SliceClaims.dynamic = true
        SliceClaims.affinity = true
        XCTAssertEqual(rk_pool_thread_no(), 0, "the test thread is not a pool worker")
        for workers in 1...3 {
            Threads.set(workers)
            for count in [0, 1, 2, 3, 5, 16, 33] {
                for _ in 0..<20 {
                    var hits = [Int](repeating: 0, count: count + 1)
                    hits.withUnsafeMutableBufferPointer { hb in
                        nonisolated(unsafe) let hb = hb
                        SliceClaims.with(count: count, workers: workers) { claims in
                            parallelFor(workers) { t in claims.forEach(worker: t) { i in hb[i] += 1 } }
                        }
                    }
                    XCTAssertEqual(Array(hits.prefix(count)), [Int](repeating: 1, count: count),
                                   "\(count) slices, \(workers) workers")
                    XCTAssertEqual(hits[count], 0)
                }
            }
        }
    }

    /// Shared state of the two-index job below.
    final class Handshake: Sendable {
        let ranSecond = Atomic<Int32>(0)  // index 1 stores 1 after a 20 ms sleep
        let waitedOut = Atomic<Int32>(0)  // index 0 gave up waiting for index 1
        let thread0 = Atomic<UInt>(0), thread1 = Atomic<UInt>(0)
    }

    /// A pool thread takes part and the caller waits for it: index 0 waits (up to 5 s) until
    /// index 1 has run, which only another thread can do, and index 1 writes its result after
    /// a 20 ms sleep, which rk_pool_run must have waited for. With spinning workers and with
    /// sleeping ones (the wake-up path).
    func testWorkersTakePartAndTheCallerWaitsForThem() {
        let savedSpin = rk_pool_spin_us()
        defer { rk_pool_set_spin_us(savedSpin) }
        for spin in [200, 0] {
            rk_pool_set_spin_us(spin)
            for _ in 0..<5 {
                if spin == 0 { usleep(2000) }  // the workers asleep
                let state = Handshake()
                let ctx = Unmanaged.passRetained(state)
                let rc = rk_pool_run(2, 2, { ctx, i in
                    let st = Unmanaged<Handshake>.fromOpaque(ctx!).takeUnretainedValue()
                    if i == 1 {
                        st.thread1.store(UInt(pthread_self()), ordering: .relaxed)
                        usleep(20_000)
                        st.ranSecond.store(1, ordering: .releasing)
                    } else {
                        st.thread0.store(UInt(pthread_self()), ordering: .relaxed)
                        var waited = 0
                        while st.ranSecond.load(ordering: .acquiring) == 0 && waited < 5_000 { usleep(1000); waited += 1 }
                        if waited >= 5_000 { st.waitedOut.store(1, ordering: .relaxed) }
                    }
                }, ctx.toOpaque())
                ctx.release()
                XCTAssertEqual(rc, 1)
                XCTAssertEqual(state.waitedOut.load(ordering: .relaxed), 0, "no pool thread took index 1 (spin \(spin) us)")
                XCTAssertEqual(state.ranSecond.load(ordering: .relaxed), 1,
                               "rk_pool_run returned before index 1 finished (spin \(spin) us)")
                XCTAssertNotEqual(state.thread0.load(ordering: .relaxed), state.thread1.load(ordering: .relaxed),
                                  "both indices ran on one thread")
            }
        }
    }

    func testNestedAndConcurrentLoopsFallBackAndStayCorrect() {
        let saved = (Threads.count, Threads.usePool)
        defer { Threads.set(saved.0); Threads.usePool = saved.1 }
        Threads.set(3)
        Threads.usePool = true  // (ROBUST_POOL=dispatch in the environment would skip the pool)
        // A loop inside a loop: the pool is busy, so the inner one runs on Dispatch.
        let outer = 8, inner = 300
        var out = [Int](repeating: 0, count: outer * inner)
        out.withUnsafeMutableBufferPointer { b in
            nonisolated(unsafe) let p = b.baseAddress!
            parallelChunks(outer) { r in
                for o in r {
                    XCTAssertEqual(rk_pool_run(2, 1, { _, _ in }, nil), 0, "the pool is busy inside a job")
                    parallelChunks(inner) { ir in for i in ir { p[o * inner + i] += o * inner + i + 1 } }
                }
            }
        }
        XCTAssertEqual(out, (0..<(outer * inner)).map { $0 + 1 })
        // Loops started from several threads at once: one gets the pool, the others Dispatch.
        let callers = 6, each = 2000
        let hits = UnsafeMutablePointer<Int32>.allocate(capacity: callers * each)
        defer { hits.deallocate() }
        hits.initialize(repeating: 0, count: callers * each)
        nonisolated(unsafe) let h = hits
        DispatchQueue.concurrentPerform(iterations: callers) { t in
            nonisolated(unsafe) let p = h + t * each
            for _ in 0..<20 { parallelChunks(each) { r in for i in r { p[i] += 1 } } }
        }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: hits, count: callers * each)), [Int32](repeating: 20, count: callers * each))
    }
}
