// File access through libc (the core stays free of Foundation), and atomic writes:
// a model or checkpoint is written to a temporary file beside the target, flushed to disk,
// then renamed over it, so a crash or a full disk never leaves a half-written model.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum FileIO {
    static func errnoText() -> String { String(cString: strerror(errno)) }

    /// Reads a whole file. `limit` caps the size accepted (bytes).
    public static func read(_ path: String, limit: Int = Int.max) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RobustError.io(path: path, reason: errnoText()) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw RobustError.io(path: path, reason: errnoText()) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw RobustError.io(path: path, reason: "is a directory") }
        let size = Int(st.st_size)
        if size > limit { throw RobustError.io(path: path, reason: "file is larger than the \(limit)-byte limit") }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        try bytes.withUnsafeMutableBytes { buf in
            while done < size {
                let r = Glibc.read(fd, buf.baseAddress! + done, size - done)
                if r < 0 {
                    if errno == EINTR { continue }
                    throw RobustError.io(path: path, reason: errnoText())
                }
                if r == 0 { break }
                done += r
            }
        }
        if done < size { bytes.removeLast(size - done) }
        return bytes
    }

    /// Writes `chunks` to `path` atomically: temp file in the same folder, fsync, rename.
    /// On any failure the temp file is removed and the previous file at `path` is untouched.
    public static func writeAtomically(_ path: String, chunks: [UnsafeRawBufferPointer]) throws {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RobustError.io(path: path, reason: "cannot create \(tmp): \(errnoText())") }
        var ok = false
        defer {
            if !ok { close(fd); unlink(tmp) }
        }
        for chunk in chunks {
            var done = 0
            while done < chunk.count {
                let r = write(fd, chunk.baseAddress! + done, chunk.count - done)
                if r < 0 {
                    if errno == EINTR { continue }
                    throw RobustError.io(path: path, reason: "write failed: \(errnoText())")
                }
                done += r
            }
        }
        guard fsync(fd) == 0 else { throw RobustError.io(path: path, reason: "fsync failed: \(errnoText())") }
        ok = true
        guard close(fd) == 0 else { unlink(tmp); throw RobustError.io(path: path, reason: "close failed: \(errnoText())") }
        guard rename(tmp, path) == 0 else {
            let why = errnoText()
            unlink(tmp)
            throw RobustError.io(path: path, reason: "rename failed: \(why)")
        }
    }

    public static func writeAtomically(_ path: String, bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeAtomically(path, chunks: [$0]) }
    }

    public static func writeAtomically(_ path: String, text: String) throws {
        try writeAtomically(path, bytes: Array(text.utf8))
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Names in a directory (no "." or ".."), sorted bytewise, hidden entries skipped.
    public static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw RobustError.io(path: path, reason: errnoText()) }
        defer { closedir(dir) }
        var names: [String] = []
        while let ent = readdir(dir) {
            let name = withUnsafePointer(to: ent.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name.hasPrefix(".") { continue }
            names.append(name)
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    public static func makeDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part + "/"
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw RobustError.io(path: path, reason: "cannot create directory: \(errnoText())")
            }
        }
    }

    /// Appends a line to a file (logs), creating it.
    public static func append(_ path: String, line: String) throws {
        guard let f = fopen(path, "a") else { throw RobustError.io(path: path, reason: errnoText()) }
        defer { fclose(f) }
        fputs(line + "\n", f)
    }
}

public func joinPath(_ a: String, _ b: String) -> String { a.hasSuffix("/") ? a + b : a + "/" + b }
