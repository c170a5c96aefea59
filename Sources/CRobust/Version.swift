// The C ABI of librobust.so. Each function here is declared in include/robust.h.
import RobustCore

/// Version string, static storage: never free it.
@_cdecl("robust_version")
public func robust_version() -> UnsafePointer<CChar> {
    versionCString
}

nonisolated(unsafe) private let versionCString: UnsafePointer<CChar> = {
    let s = Array(RobustVersion.string.utf8CString)
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: s.count)
    p.initialize(from: s, count: s.count)
    return UnsafePointer(p)
}()
