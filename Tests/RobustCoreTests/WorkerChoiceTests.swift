import XCTest
import Dispatch
import Synchronization
import CKernels
@testable import RobustCore

/// The single-image pass's choice between one worker and all (WorkerChoice), the per-thread
/// worker limit it runs under, and the pool's trace that `bench --timeline` reads.
final class WorkerChoiceTests: XCTestCase {
    /// Feeds the chooser made-up latencies: it serves the faster arm by median, spends two calls
    /// of every `exploreEvery` on the other arm and keeps only the second of them, and follows
    /// the machine when the other arm becomes faster.
    func testServesTheFasterArmExploresTheOtherAndFollowsAChange() {
        let choice = WorkerChoice()
        var latency = [1.0, 2.0]  // arm 0 (one worker) faster
        var used = [0, 0], kept = [0, 0]
        func call() {
            let (arm, keep) = choice.choose()
            used[arm] += 1
            if keep { kept[arm] += 1; choice.record(arm, latency[arm]) }
        }
        for _ in 0..<6 { call() }
        XCTAssertEqual(used, [3, 3], "alternates until each arm has three samples")
        XCTAssertEqual(choice.serving, 0)
        used = [0, 0]; kept = [0, 0]
        let n = 10 * WorkerChoice.exploreEvery
        for _ in 0..<n { call() }
        XCTAssertEqual(used[1], 20, "two calls of the other arm every \(WorkerChoice.exploreEvery)")
        XCTAssertEqual(kept[1], 10, "the first call of each burst (waking the workers) is not kept")
        XCTAssertEqual(used[0], n - 20)
        // The machine changes: all workers now twice as fast. Exploration brings enough new
        // samples of arm 1 within a few bursts (a median of 7 needs 4).
        latency = [1.0, 0.5]
        var switchedAfter: Int?
        for i in 0..<(8 * WorkerChoice.exploreEvery) {
            call()
            if choice.serving == 1 { switchedAfter = i; break }
        }
        XCTAssertNotNil(switchedAfter, "keeps serving the slower arm")
        XCTAssertLessThanOrEqual(switchedAfter ?? .max, 5 * WorkerChoice.exploreEvery)
        XCTAssertEqual(choice.medians[1], 0.5)
    }

    /// The limit holds on the calling thread only, nests, and is lifted afterwards.
    func testWorkerLimitIsPerThreadAndRestored() {
        let saved = Threads.configured
        defer { Threads.set(saved) }
        Threads.set(3)
        XCTAssertEqual(Threads.count, 3)
        Threads.limited(to: 1) {
            XCTAssertEqual(Threads.count, 1)
            let elsewhere = Atomic<Int>(0)
            let done = DispatchSemaphore(value: 0)
            DispatchQueue.global().async { elsewhere.store(Threads.count, ordering: .relaxed); done.signal() }
            done.wait()
            XCTAssertEqual(elsewhere.load(ordering: .relaxed), 3, "another thread keeps the configured count")
            Threads.limited(to: 2) { XCTAssertEqual(Threads.count, 2) }
            XCTAssertEqual(Threads.count, 1, "the inner limit is undone")
            Threads.limited(to: 0) { XCTAssertEqual(Threads.count, 3, "0 lifts the limit") }
            Threads.limited(to: 8) { XCTAssertEqual(Threads.count, 3, "a limit above the configured count changes nothing") }
        }
        XCTAssertEqual(Threads.count, 3)
        // Loops split into at most the limit's chunks.
        let chunks = Atomic<Int>(0)
        Threads.limited(to: 1) { parallelChunks(100) { _ in chunks.add(1, ordering: .relaxed) } }
        XCTAssertEqual(chunks.load(ordering: .relaxed), 1)
        chunks.store(0, ordering: .relaxed)
        parallelChunks(100) { _ in chunks.add(1, ordering: .relaxed) }
        XCTAssertEqual(chunks.load(ordering: .relaxed), 3)
    }

    /// Whichever arm serves, a single image gets the same scores: one worker and all compute
    /// the same sums in the same order (bands and phases of Winograd, direct blocks by output
    /// channel). Bit for bit, since a gate must not flip its decision between two calls.
    func testOneWorkerAndAllGiveTheSameLogits() {
        let saved = (Threads.configured, WorkerChoice.enabled)
        defer { Threads.set(saved.0); WorkerChoice.enabled = saved.1 }
        WorkerChoice.enabled = false
        var rng = RNG(seed: 5)
        for width in [8, 16] {
            let model = ResNet18(width: width)
            model.initialize(seed: 3)
            let x = Tensor([3, 1, 32, 32])
            for i in 0..<x.count { x[i] = rng.normal() }
            var logits: [[Float]] = []
            for threads in [1, 2, 3] {
                Threads.set(threads)
                let events = PoolTrace.record(capacity: 10_000) { logits.append(model.forward(x, mode: .eval).array) }
                let jobs = events.filter { $0.index < 0 }.count
                if threads == 1 { XCTAssertEqual(jobs, 0) } else { XCTAssertGreaterThanOrEqual(jobs, 5, "width \(width): the pass is split") }
            }
            XCTAssertEqual(logits[0], logits[1], "width \(width): 1 vs 2 workers")
            XCTAssertEqual(logits[0], logits[2], "width \(width): 1 vs 3 workers")
            // and through the chooser, which alternates between the arms at first
            Threads.set(2)
            WorkerChoice.enabled = true
            for _ in 0..<8 { XCTAssertEqual(model.forward(x, mode: .eval).array, logits[0], "width \(width), adaptive") }
            XCTAssertNotNil(model.workerChoice.serving)
            WorkerChoice.enabled = false
        }
    }

    /// The trace records each job (index -1) and each index it ran, inside the job's span, and
    /// nothing once stopped.
    func testTraceRecordsJobsAndTheirIndices() {
        let saved = Threads.configured
        defer { Threads.set(saved) }
        Threads.set(2)
        let events = PoolTrace.record(capacity: 1000) {
            for _ in 0..<5 { parallelChunks(4) { r in for _ in r { usleep(200) } } }
        }
        let jobs = events.filter { $0.index < 0 }
        XCTAssertEqual(jobs.count, 5)
        for j in jobs {
            let parts = events.filter { $0.job == j.job && $0.index >= 0 }
            XCTAssertEqual(parts.map(\.index).sorted(), [0, 1], "two chunks of four items")
            for p in parts {
                XCTAssertGreaterThanOrEqual(p.t0, j.t0)
                XCTAssertLessThanOrEqual(p.t1, j.t1)
                XCTAssertGreaterThanOrEqual(p.t1 - p.t0, 400_000, "two 200 us sleeps")
                XCTAssertGreaterThanOrEqual(p.cpu, 0)
            }
        }
        parallelChunks(4) { _ in }
        XCTAssertEqual(rk_pool_trace_count(), 0, "stopped")
    }
}
