// Per-kernel timing, off unless enabled: the profile table of `audit-cli bench --profile`.
// Each section records wall time and the floating-point operations it performed.

public enum Profiler {
    public struct Entry: Sendable { public var seconds = 0.0; public var flops = 0.0; public var calls = 0 }
    nonisolated(unsafe) public static var enabled = false
    nonisolated(unsafe) public private(set) static var entries: [String: Entry] = [:]

    @inline(__always)
    public static func measure<T>(_ name: String, flops: Double = 0, _ body: () -> T) -> T {
        guard enabled else { return body() }
        let t0 = monotonicSeconds()
        let r = body()
        var e = entries[name] ?? Entry()
        e.seconds += monotonicSeconds() - t0
        e.flops += flops
        e.calls += 1
        entries[name] = e
        return r
    }

    /// Adds time measured elsewhere (e.g. summed over workers and divided by their count).
    public static func add(_ name: String, seconds: Double, flops: Double = 0) {
        guard enabled else { return }
        var e = entries[name] ?? Entry()
        e.seconds += seconds
        e.flops += flops
        e.calls += 1
        entries[name] = e
    }

    public static func reset() { entries = [:] }
}

/// Phase timers of one worker, for code that runs on several workers at once (the profiler
/// itself is not thread-safe): the worker calls `lap(k)` at the end of each phase k (0..<4).
/// Costs nothing while the profiler is off.
public struct PhaseTimer {
    let on: Bool
    var last: Double
    public private(set) var totals = SIMD4<Double>.zero
    init(on: Bool) { self.on = on; last = on ? monotonicSeconds() : 0 }

    @inline(__always)
    public mutating func lap(_ k: Int) {
        guard on else { return }
        let t = monotonicSeconds()
        totals[k] += t - last
        last = t
    }
}

/// Runs body(worker, &timer) for each of `workers` workers in parallel and returns the
/// workers' mean time per phase (zero while the profiler is off).
func parallelTimed(_ workers: Int, _ body: (Int, inout PhaseTimer) -> Void) -> SIMD4<Double> {
    let on = Profiler.enabled
    var timers = [SIMD4<Double>](repeating: .zero, count: workers)
    timers.withUnsafeMutableBufferPointer { tb in
        nonisolated(unsafe) let tb = tb
        parallelFor(workers) { t in
            var timer = PhaseTimer(on: on)
            body(t, &timer)
            tb[t] = timer.totals
        }
    }
    return timers.reduce(SIMD4<Double>.zero, +) / Double(max(workers, 1))
}
