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
