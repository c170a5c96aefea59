// The official CIFAR-10 binary format: data_batch_1.bin .. data_batch_5.bin and
// test_batch.bin, each a run of 3073-byte records: 1 label byte, then 1024 R, 1024 G,
// 1024 B bytes (channel-planar, rows top to bottom).

public enum CIFARBinary {
    public static let recordBytes = 1 + 3 * 32 * 32
    public static let trainFiles = (1...5).map { "data_batch_\($0).bin" }
    public static let testFiles = ["test_batch.bin"]

    /// Reads the given record files into one dataset (pixels converted to HWC).
    public static func load(files: [String]) throws -> Dataset {
        var ds = Dataset(height: 32, width: 32, classNames: cifar10ClassNames)
        for path in files { try append(FileIO.read(path, limit: 1 << 30), source: path, to: &ds) }
        return ds
    }

    /// Records from bytes already in memory (`source` names them in errors and in the
    /// dataset's sources).
    public static func parse(_ bytes: [UInt8], source: String) throws -> Dataset {
        var ds = Dataset(height: 32, width: 32, classNames: cifar10ClassNames)
        try append(bytes, source: source, to: &ds)
        return ds
    }

    static func append(_ bytes: [UInt8], source path: String, to ds: inout Dataset) throws {
        guard !bytes.isEmpty, bytes.count % recordBytes == 0 else {
            throw RobustError.format(path: path, reason: "size \(bytes.count) is not a multiple of the \(recordBytes)-byte CIFAR-10 record")
        }
        let n = bytes.count / recordBytes
        ds.pixels.reserveCapacity(ds.pixels.count + n * 3072)
        for r in 0..<n {
            let base = r * recordBytes
            let label = bytes[base]
            guard label < 10 else {
                throw RobustError.format(path: path, reason: "record \(r): label \(label) is not in 0..9")
            }
            for p in 0..<1024 {
                ds.pixels.append(bytes[base + 1 + p])
                ds.pixels.append(bytes[base + 1 + 1024 + p])
                ds.pixels.append(bytes[base + 1 + 2048 + p])
            }
            ds.labels.append(Int32(label))
            ds.sources.append("\(path)#\(r)")
        }
    }

    /// Loads the train or test split from a folder holding the .bin files.
    public static func load(directory: String, train: Bool) throws -> Dataset {
        try load(files: (train ? trainFiles : testFiles).map { joinPath(directory, $0) })
    }

    /// Writes a dataset of 32x32 images in the binary format (used by tests and tools).
    public static func write(_ ds: Dataset, to path: String) throws {
        precondition(ds.height == 32 && ds.width == 32)
        var out = [UInt8]()
        out.reserveCapacity(ds.count * recordBytes)
        for i in 0..<ds.count {
            out.append(UInt8(ds.labels[i]))
            let img = i * 3072
            for c in 0..<3 { for p in 0..<1024 { out.append(ds.pixels[img + p * 3 + c]) } }
        }
        try FileIO.writeAtomically(path, bytes: out)
    }
}
