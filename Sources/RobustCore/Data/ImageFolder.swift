// Loading a dataset laid out as one folder per class (root/<class>/<image>.png|jpg).
// Class order is the sorted folder names unless a class list is given. Decoding runs on
// all worker threads. A file that fails to decode is skipped and reported, or stops the
// load, as the caller chooses.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum OnBadFile: Sendable { case skip, stop }

public struct LoadReport: Sendable {
    public var loaded = 0
    /// (path, reason) of each skipped file.
    public var skipped: [(String, String)] = []
    public var summary: String {
        var s = "loaded \(loaded) images"
        if !skipped.isEmpty {
            s += ", skipped \(skipped.count) that failed to decode:"
            for (p, r) in skipped.prefix(10) { s += "\n  \(p): \(r)" }
            if skipped.count > 10 { s += "\n  ... and \(skipped.count - 10) more" }
        }
        return s
    }
}

public enum ImageFolder {
    static let extensions: Set<String> = ["png", "jpg", "jpeg"]
    /// The one class of a flat folder of images.
    public static let unlabeledClass = "(unlabeled)"

    public static func isImageFile(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: ".") else { return false }
        return extensions.contains(name[name.index(after: dot)...].lowercased())
    }

    /// Loads root/<class>/* into memory at size x size (resized bilinearly if they differ);
    /// a root holding images and no folders loads as the one class `unlabeledClass`.
    public static func load(_ root: String, classes: [String]? = nil, size: Int = 32,
                            onBadFile: OnBadFile = .skip, limitPerClass: Int? = nil,
                            progress: ((Int, Int) -> Void)? = nil) throws -> (Dataset, LoadReport) {
        guard FileIO.isDirectory(root) else { throw RobustError.io(path: root, reason: "not a directory") }
        var classNames = try classes ?? FileIO.list(root).filter { FileIO.isDirectory(joinPath(root, $0)) }
        // A flat folder of images (uploads, a quality check) loads as one unlabeled class.
        let flat = try classes == nil && classNames.isEmpty && FileIO.list(root).contains(where: isImageFile)
        if flat { classNames = [unlabeledClass] }
        guard !classNames.isEmpty else { throw RobustError.format(path: root, reason: "no class folders found") }
        var files: [(String, Int32)] = []
        for (ci, name) in classNames.enumerated() {
            let dir = flat ? root : joinPath(root, name)
            guard FileIO.isDirectory(dir) else { throw RobustError.io(path: dir, reason: "class folder missing") }
            var names = try FileIO.list(dir).filter(isImageFile)
            if let lim = limitPerClass { names = Array(names.prefix(lim)) }
            files += names.map { (joinPath(dir, $0), Int32(ci)) }
        }
        guard !files.isEmpty else { throw RobustError.format(path: root, reason: "no PNG or JPEG images in the class folders") }

        let bytesPer = size * size * 3
        var pixels = [UInt8](repeating: 0, count: files.count * bytesPer)
        var errors = [Error?](repeating: nil, count: files.count)
        let total = files.count
        // Images finished, for the progress reports, under a lock so that the reports come one
        // at a time (pthread's: ThreadSanitizer sees it).
        let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        let done = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        done.initialize(to: 0)
        defer { pthread_mutex_destroy(lock); lock.deallocate(); done.deallocate() }
        pixels.withUnsafeMutableBufferPointer { pb in
            errors.withUnsafeMutableBufferPointer { eb in
                nonisolated(unsafe) let pb = pb, eb = eb
                parallelChunks(total) { r in
                    for i in r {
                        do {
                            let img = ImageCodec.resize(try ImageCodec.decodeFile(files[i].0), width: size, height: size)
                            img.pixels.withUnsafeBufferPointer {
                                (pb.baseAddress! + i * bytesPer).update(from: $0.baseAddress!, count: bytesPer)
                            }
                        } catch {
                            eb[i] = error
                        }
                        // Every 1,024th image finished reports, one report at a time.
                        if let progress {
                            pthread_mutex_lock(lock)
                            done.pointee += 1
                            if done.pointee & 1023 == 0 { progress(done.pointee, total) }
                            pthread_mutex_unlock(lock)
                        }
                    }
                }
            }
        }
        var report = LoadReport()
        var ds = Dataset(height: size, width: size, classNames: classNames)
        ds.pixels.reserveCapacity(pixels.count)
        for i in 0..<files.count {
            if let e = errors[i] {
                if onBadFile == .stop { throw e }
                if case let RobustError.decode(_, reason) = e { report.skipped.append((files[i].0, reason)) }
                else { report.skipped.append((files[i].0, "\(e)")) }
                continue
            }
            ds.pixels.append(contentsOf: pixels[i * bytesPer ..< (i + 1) * bytesPer])
            ds.labels.append(files[i].1)
            ds.sources.append(files[i].0)
        }
        report.loaded = ds.count
        return (ds, report)
    }
}
