// Small wrappers over libc so the core needs no Foundation.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func getenvString(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    return String(cString: p)
}

func systemCoreCount() -> Int {
    let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
    return n > 0 ? Int(n) : 1
}

/// Monotonic clock in seconds.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// The process's peak resident set size so far, in bytes. On Linux from VmHWM in
/// /proc/self/status: getrusage's ru_maxrss is preserved across execve, so a process started
/// from a large parent (a Python session with PyTorch loaded) reported the parent's size.
public func peakResidentBytes() -> Int {
    #if os(Linux)
    if let f = fopen("/proc/self/status", "r") {
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), f) != nil {
            let s = String(cString: line)
            if s.hasPrefix("VmHWM:") {
                let digits = s.dropFirst(6).filter { $0.isNumber }
                if let kib = Int(String(digits)) { return kib * 1024 }  // "VmHWM:  123456 kB"
            }
        }
    }
    #endif
    var u = rusage()
    guard getrusage(RUSAGE_SELF.rawValue, &u) == 0 else { return 0 }
    #if os(Linux)
    return Int(u.ru_maxrss) * 1024
    #else
    return Int(u.ru_maxrss)
    #endif
}
