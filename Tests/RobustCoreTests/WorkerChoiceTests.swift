import XCTest
import Dispatch
import Synchronization
import CKernels
@testable import RobustCore

/// The single-image pass's choice between one worker and all (WorkerChoice), the per-thread
/// worker limit it runs under, and the pool's trace that `bench --timeline` reads.
final class WorkerChoiceTests: XCTestCase {
    /// Feeds the chooser made-up latencies: it starts on all workers, explores the other arm in
    /// bursts of two calls (the first not counted), switches once five paired ratios favour
    /// the other arm by their median, then explores every `exploreEvery` calls, follows a later
    /// change, and does not switch for a small difference.
    func testServesTheFasterArmExploresTheOtherAndFollowsAChange() {
        let choice = WorkerChoice()
        var latency = [1.0, 2.0]  // arm 0 (one worker) faster
        var explored = 0, firstOfBurst = true
        func call() {
            let arm = choice.choose()
            var t = latency[arm]
            if arm != choice.serving {
                explored += 1
                if firstOfBurst { t *= 10 }  // waking the workers: a large figure, to be ignored
                firstOfBurst.toggle()
            }
            choice.record(arm, t)
        }
        XCTAssertEqual(choice.serving, 1, "starts on all workers")
        var calls = 0
        while choice.serving == 1 && calls < 1000 { call(); calls += 1 }
        XCTAssertEqual(choice.serving, 0, "paired ratios of 0.5: one worker serves")
        XCTAssertEqual(explored, 10, "after five bursts of two calls")
        XCTAssertLessThanOrEqual(calls, 3 * (WorkerChoice.exploreEvery / 2 + 2) + 2 * (WorkerChoice.exploreEvery + 2),
                                 "three bursts every exploreEvery / 2 calls, then every exploreEvery")
        XCTAssertEqual(choice.ratios, [], "ratios restart after a switch")
        // Settled: after three more bursts, two calls of the other arm every exploreEvery.
        while choice.ratios.count < 3 { call() }
        explored = 0
        for _ in 0..<(10 * (WorkerChoice.exploreEvery + 1)) { call() }
        XCTAssertEqual(explored, 20, "two calls of the other arm every \(WorkerChoice.exploreEvery)")
        XCTAssertEqual(choice.serving, 0)
        XCTAssertEqual(choice.ratios, [2, 2, 2, 2, 2], "the wake-up calls are not counted")
        // The machine changes: all workers now twice as fast; three of the last five ratios
        // must favour them, so the switch comes within three bursts.
        latency = [1.0, 0.5]
        calls = 0
        while choice.serving == 0 && calls < 1000 { call(); calls += 1 }
        XCTAssertEqual(choice.serving, 1, "keeps serving the slower arm")
        XCTAssertLessThanOrEqual(calls, 3 * (WorkerChoice.exploreEvery + 2), "three bursts: three of the five ratios")
        // A difference inside the margin: one worker 5% faster never takes over.
        latency = [0.95, 1.0]
        for _ in 0..<(20 * WorkerChoice.exploreEvery) { call() }
        XCTAssertEqual(choice.serving, 1, "switched for a 5% difference")
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
        // Loops split into chunksPerWorker chunks for each worker the limit allows: one on one.
        let chunks = Atomic<Int>(0)
        Threads.limited(to: 1) { parallelChunks(100) { _ in chunks.add(1, ordering: .relaxed) } }
        XCTAssertEqual(chunks.load(ordering: .relaxed), 1)
        chunks.store(0, ordering: .relaxed)
        Threads.limited(to: 2) { parallelChunks(100) { _ in chunks.add(1, ordering: .relaxed) } }
        XCTAssertEqual(chunks.load(ordering: .relaxed), 2 * chunksPerWorker)
        chunks.store(0, ordering: .relaxed)
        parallelChunks(100) { _ in chunks.add(1, ordering: .relaxed) }
        XCTAssertEqual(chunks.load(ordering: .relaxed), 3 * chunksPerWorker)
    }

    /// The BLAS probe against the engine itself: where one worker and two or three give a single image's
    /// logits other bits, the probe must not claim split invariance (the chooser's default and
    /// the bit-identity tests rely on it). Prints what this CPU does.
    func testSplitProbeAgreesWithTheEngine() {
        let saved = (Threads.configured, WorkerChoice.enabled)
        defer { Threads.set(saved.0); WorkerChoice.enabled = saved.1 }
        WorkerChoice.enabled = false
        var rng = RNG(seed: 9)
        var differ = false
        for width in [8, 16, 32] {
            let model = ResNet18(width: width)
            model.initialize(seed: 2)
            let x = Tensor([3, 1, 32, 32])
            for i in 0..<x.count { x[i] = rng.normal() }
            Threads.set(1)
            let one = model.forward(x, mode: .eval).array
            for threads in [2, 3] {
                Threads.set(threads)
                if model.forward(x, mode: .eval).array != one { differ = true }
            }
        }
        print("BLAS \(BLAS.coreName): split-invariant \(BLAS.splitInvariant); one worker against two and three: \(differ ? "other bits" : "the same bits")")
        if differ { XCTAssertFalse(BLAS.splitInvariant, "the engine's logits depend on the worker count") }
    }

    /// Whichever arm serves, a single image gets the same scores: one worker and all compute
    /// the same sums in the same order (bands and phases of Winograd, direct blocks by output
    /// channel). Bit for bit where the BLAS is split-invariant, since a gate must not flip its
    /// decision between two calls (elsewhere the chooser starts off; forced on here, within 1e-5).
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
            assertSameBitsWhereBLASAllows(logits[1], logits[0], "width \(width): 1 vs 2 workers")
            assertSameBitsWhereBLASAllows(logits[2], logits[0], "width \(width): 1 vs 3 workers")
            // and through the chooser, which explores the other arm every few calls at first
            Threads.set(2)
            WorkerChoice.enabled = true
            for _ in 0..<40 { assertSameBitsWhereBLASAllows(model.forward(x, mode: .eval).array, logits[0], "width \(width), adaptive") }
            XCTAssertFalse(model.workerChoice.ratios.isEmpty, "the other arm was explored")
            WorkerChoice.enabled = false
        }
    }

    /// The trace records each job (index -1) and each index it ran, inside the job's span, and
    /// nothing once stopped.
    func testTraceRecordsJobsAndTheirIndices() {
        let saved = (Threads.configured, chunksPerWorker)
        defer { Threads.set(saved.0); chunksPerWorker = saved.1 }
        Threads.set(2)
        chunksPerWorker = 1  // one chunk of two items a worker
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
