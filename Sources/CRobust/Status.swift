// Turning Swift errors into the C ABI's status codes and per-thread messages.
import CRobustABI
import RobustCore

/// Runs one C entry point: a thrown error becomes its status code, with the message stored
/// for robust_last_error(). Nothing escapes as a Swift error or a crash.
@inline(__always)
func guarded(_ body: () throws -> Int32) -> Int32 {
    do {
        return try body()
    } catch let e as RobustError {
        return fail(status(of: e), e.description)
    } catch {
        return fail(ROBUST_ERR_INTERNAL, "internal error: \(error)")
    }
}

func status(of e: RobustError) -> Int32 {
    switch e {
    case .io: ROBUST_ERR_IO
    case .decode: ROBUST_ERR_IMAGE
    case .format: ROBUST_ERR_MODEL_FORMAT
    case .invalidArgument: ROBUST_ERR_INVALID_ARGUMENT
    case .unknownClass: ROBUST_ERR_UNKNOWN_CLASS
    }
}

@discardableResult
func fail(_ status: Int32, _ message: String) -> Int32 {
    message.withCString { rbi_fail(status, $0) }
}

/// An error for a NULL or otherwise unusable argument of function `fn`.
func invalid(_ fn: String, _ what: String) -> RobustError {
    .invalidArgument("\(fn): \(what)")
}

func string(_ p: UnsafePointer<CChar>?, _ fn: String, _ name: String) throws -> String {
    guard let p else { throw invalid(fn, "\(name) is NULL") }
    return String(cString: p)
}

/// A C string copy owned by a handle (freed by the handle).
func cString(_ s: String) -> UnsafeMutablePointer<CChar> {
    let a = Array(s.utf8CString)
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: a.count)
    p.initialize(from: a, count: a.count)
    return p
}
