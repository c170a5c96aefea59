import XCTest
import Dispatch
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
        rk_pool_set_spin_us(0)
        defer { rk_pool_set_spin_us(200) }
        usleep(2000)
        let c = Counts(100)
        XCTAssertEqual(run(100, workers: 2, c), 1)
        XCTAssertEqual(c.hits, [Int32](repeating: 1, count: 100))
        XCTAssertEqual(rk_pool_run(0, 2, { _, _ in XCTFail("called for n = 0") }, nil), 1)
        XCTAssertEqual(rk_pool_run(1 << 20, 2, { _, _ in XCTFail("called for n >= 2^20") }, nil), 0)
    }

    func testNestedAndConcurrentLoopsFallBackAndStayCorrect() {
        let saved = Threads.count
        defer { Threads.set(saved) }
        Threads.set(3)
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
