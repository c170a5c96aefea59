// How many workers a single image's forward pass should use, chosen by measuring both.
//
// Why: on a VM the two vCPUs are sometimes two physical cores and sometimes two hyperthreads of
// one core (or one shares its core with another tenant). Measured on the 2-core dev VM, one
// process, paired call by call (`audit-cli bench --ab workers`): width-16 single-image latency
// with two workers 0.42-0.44 ms against 0.57 with one in some minutes, and 0.87-0.92 ms against
// 0.57 in others, when both threads' work per pass doubled (`bench --timeline`: the caller's
// share 297 -> 560 us): then the second thread costs more than it brings. Nothing the process
// can read says which machine it has at the moment, so the pass times itself: each arm (one
// worker, all workers) keeps its recent latencies, the faster by median serves, and every
// `exploreEvery` calls the other arm runs two calls, of which the second is kept (the first
// pays for waking sleeping workers, which steady use of that arm would not).

/// Per model (a network copy is used by one thread at a time): not thread-safe.
public final class WorkerChoice: @unchecked Sendable {
    /// ROBUST_ADAPTIVE_WORKERS=0: always all workers. Flipped by `bench --ab adaptive-workers`.
    nonisolated(unsafe) public static var enabled: Bool = getenvString("ROBUST_ADAPTIVE_WORKERS") != "0"
    /// Calls between two exploration bursts of the arm that is not serving.
    public static let exploreEvery = 32
    /// Latencies kept per arm; the arm's figure is their median.
    static let window = 7

    private var samples: [[Double]] = [[], []]  // arm 0: one worker; arm 1: all workers
    private var next: [Int] = [0, 0]            // ring positions
    private var calls = 0
    private var burst = 0                       // calls left in the current exploration burst

    public init() {}

    /// The arm that serves now (0: one worker, 1: all), or nil before both have samples.
    public var serving: Int? {
        guard samples[0].count >= 3, samples[1].count >= 3 else { return nil }
        return median(samples[1]) <= median(samples[0]) ? 1 : 0
    }

    /// Each arm's median latency (seconds), nil while it has no samples.
    public var medians: [Double?] { samples.map { $0.isEmpty ? nil : median($0) } }

    /// Runs body with the worker count chosen for this call and records its latency.
    @inline(__always)
    public func run<T>(_ body: () -> T) -> T {
        let all = Threads.count
        guard WorkerChoice.enabled, all > 1 else { return body() }
        let (arm, keep) = choose()
        let t0 = monotonicSeconds()
        let r = Threads.limited(to: arm == 0 ? 1 : all, body)
        if keep { record(arm, monotonicSeconds() - t0) }
        return r
    }

    /// The arm for the next call and whether its latency counts.
    func choose() -> (arm: Int, keep: Bool) {
        calls += 1
        // Until each arm has a few samples, alternate.
        guard let best = serving else { return (calls % 2, true) }
        if burst > 0 {
            burst -= 1
            return (1 - best, burst == 0)
        }
        if calls % WorkerChoice.exploreEvery == 0 {
            burst = 1
            return (1 - best, false)
        }
        return (best, true)
    }

    func record(_ arm: Int, _ seconds: Double) {
        if samples[arm].count < WorkerChoice.window {
            samples[arm].append(seconds)
        } else {
            samples[arm][next[arm]] = seconds
            next[arm] = (next[arm] + 1) % WorkerChoice.window
        }
    }

    private func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s[s.count / 2]
    }
}
