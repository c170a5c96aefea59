// How many workers a single image's forward pass should use, chosen by measuring both.
//
// Why: on a VM the two vCPUs are sometimes two physical cores and sometimes not (hyperthreads
// of one core, or a core shared with another tenant or another thread pool). Measured on the
// 2-core dev VM, width-16 single-image latency: two workers 0.42-0.44 ms against 0.57 with one
// in some minutes; in others, and beside ONNX Runtime's pool in one process, 0.85-0.92 ms on
// two workers (the pool trace, `bench --timeline`: each thread's work per pass doubled) while
// one worker still took about 0.57. Nothing the process can read says which machine it has at
// the moment, so the pass times itself. This VM's speed also swings within fractions of a
// second, so the two arms are compared in pairs close in time: every `exploreEvery` calls the
// arm that is not serving runs two calls (the first pays for waking workers, which steady use
// of that arm would not; it is not counted), and the second call's latency over the median of
// the serving arm's last three calls is one paired ratio. When the median of the last five
// ratios is below 0.9, the other arm serves from then on.

/// Per model (a network copy is used by one thread at a time): not thread-safe.
public final class WorkerChoice: @unchecked Sendable {
    /// ROBUST_ADAPTIVE_WORKERS=0: always all workers; any other value: adaptive even where the
    /// BLAS is not split-invariant. Flipped by `bench --ab adaptive-workers`.
    /// Off by default where the BLAS gives a product's elements other bits when the product is
    /// cut otherwise (`BLAS.splitInvariant`; OpenBLAS 0.3.21 on AMD Zen 5): there one worker and
    /// all differ in the last bits, and a gate must not flip its decision between two calls on
    /// the same image because the chooser switched arms.
    nonisolated(unsafe) public static var enabled: Bool = {
        // Unset or empty: the probe decides; "0": off; anything else (1, yes...): on, as before.
        guard let v = getenvString("ROBUST_ADAPTIVE_WORKERS"), !v.isEmpty else { return BLAS.splitInvariant }
        return v != "0"
    }()
    /// Calls between two exploration bursts once the choice has settled; half that while the
    /// ratios since the last switch are fewer than three.
    public static let exploreEvery = 32
    /// The other arm serves once the median of five paired ratios is below this: a margin
    /// against switching on noise (at width 64, beside ONNX Runtime, switching at 1 served one
    /// worker too often: median latency 6.7 ms against 5.4 on all workers).
    public static let switchBelow = 0.9

    /// The arm serving now: 0 one worker, 1 all workers (the start: the configured count).
    public private(set) var serving = 1
    /// Latest serving-arm latencies (seconds), newest last, at most 3.
    private var recent: [Double] = []
    /// Paired ratios explored / serving since the last switch, newest last, at most 5.
    public private(set) var ratios: [Double] = []
    private var calls = 0
    private var burst = 0  // calls left in the current exploration burst

    public init() {}

    /// Runs body with the worker count chosen for this call and records its latency.
    @inline(__always)
    public func run<T>(_ body: () -> T) -> T {
        let all = Threads.count
        guard WorkerChoice.enabled, all > 1 else { return body() }
        let arm = choose()
        let t0 = monotonicSeconds()
        let r = Threads.limited(to: arm == 0 ? 1 : all, body)
        record(arm, monotonicSeconds() - t0)
        return r
    }

    /// The arm for the next call.
    func choose() -> Int {
        if burst > 0 { return 1 - serving }
        calls += 1
        let every = ratios.count < 3 ? WorkerChoice.exploreEvery / 2 : WorkerChoice.exploreEvery
        if calls >= every && recent.count == 3 {
            calls = 0
            burst = 2
            return 1 - serving
        }
        return serving
    }

    /// The latency of a call on `arm` (as `choose` gave it).
    func record(_ arm: Int, _ seconds: Double) {
        if arm == serving && burst == 0 {
            recent.append(seconds)
            if recent.count > 3 { recent.removeFirst() }
            return
        }
        burst -= 1
        guard burst == 0 else { return }  // the burst's first call: workers waking up
        ratios.append(seconds / median(recent))
        if ratios.count > 5 { ratios.removeFirst() }
        if ratios.count == 5 && median(ratios) < WorkerChoice.switchBelow {
            serving = 1 - serving
            ratios = []
            recent = []
        }
    }

    private func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s[s.count / 2]
    }
}
