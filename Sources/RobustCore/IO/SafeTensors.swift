// safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
// {str: str}}, then the raw little-endian tensor bytes. Every offset is checked against the
// file before anything is read, so a corrupt or hostile file is an error, not a crash.

public enum DType: String, Sendable, CaseIterable {
    case F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL
    public var size: Int {
        switch self {
        case .F64, .I64: return 8
        case .F32, .I32: return 4
        case .F16, .BF16, .I16: return 2
        case .I8, .U8, .BOOL: return 1
        }
    }
}

public struct TensorEntry: Sendable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    /// Byte range inside the data section.
    public var begin: Int, end: Int
    public var count: Int { shape.reduce(1, *) }
}

public struct SafeTensors: Sendable {
    /// Headers larger than this are refused. The reference implementation allows 100 MB, but
    /// parsing that much hostile JSON took 20 s and 2.1 GB here; a ResNet-18 checkpoint's header
    /// (every tensor, optimizer state and the training config) is about 18 KB, 450 times less.
    public static let maxHeaderBytes = 8 << 20

    public let source: String
    public var metadata: [String: String]
    public var entries: [TensorEntry]
    private let bytes: [UInt8]
    private let dataStart: Int

    /// Files above this size are refused (a width-1024 ResNet-18 is about 3 GB).
    public static let maxFileBytes = 8 << 30

    public static func load(_ path: String) throws -> SafeTensors {
        try SafeTensors(bytes: FileIO.read(path, limit: maxFileBytes), source: path)
    }

    public init(bytes: [UInt8], source: String = "<memory>") throws {
        self.source = source
        func bad(_ why: String) -> RobustError { .format(path: source, reason: "not a valid safetensors file: \(why)") }
        guard bytes.count >= 8 else { throw bad("shorter than the 8-byte header length") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(SafeTensors.maxHeaderBytes) else { throw bad("header length \(n) exceeds the \(SafeTensors.maxHeaderBytes)-byte limit") }
        guard n <= UInt64(bytes.count - 8) else { throw bad("header length \(n) is longer than the file (\(bytes.count) bytes)") }
        let headerLen = Int(n)
        // Not an object: refuse before parsing (an array of millions of numbers is valid JSON).
        guard let first = bytes[8..<(8 + headerLen)].first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }),
              first == UInt8(ascii: "{") else { throw bad("header is not a JSON object") }
        let json: JSON
        do { json = try JSON.parse(Array(bytes[8..<(8 + headerLen)])) } catch { throw bad("header: \(error)") }
        guard let obj = json.objectValue else { throw bad("header is not a JSON object") }
        let dataStart = 8 + headerLen
        let dataSize = bytes.count - dataStart
        var metadata: [String: String] = [:]
        var entries: [TensorEntry] = []
        for (name, v) in obj {
            if name == "__metadata__" {
                guard let m = v.objectValue else { throw bad("__metadata__ is not an object") }
                for (k, mv) in m {
                    guard let s = mv.stringValue else { throw bad("__metadata__[\(k)] is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let dts = v["dtype"]?.stringValue else { throw bad("tensor \(name): missing dtype") }
            guard let dt = DType(rawValue: dts) else { throw bad("tensor \(name): unsupported dtype \(dts)") }
            guard let sh = v["shape"]?.arrayValue else { throw bad("tensor \(name): missing shape") }
            var shape: [Int] = []
            var count = 1
            for d in sh {
                guard let x = d.intValue, x >= 0, x < (1 << 40) else { throw bad("tensor \(name): bad shape") }
                shape.append(Int(x))
                let (p, o) = count.multipliedReportingOverflow(by: Int(x))
                guard !o, p < (1 << 40) else { throw bad("tensor \(name): shape too large") }
                count = p
            }
            guard let off = v["data_offsets"]?.arrayValue, off.count == 2,
                  let b = off[0].intValue, let e = off[1].intValue else { throw bad("tensor \(name): missing data_offsets") }
            guard b >= 0, b <= e, e <= Int64(dataSize) else {
                throw bad("tensor \(name): data_offsets [\(b), \(e)] outside the \(dataSize)-byte data section")
            }
            guard Int(e - b) == count * dt.size else {
                throw bad("tensor \(name): \(e - b) bytes for shape \(shape) of \(dts)")
            }
            entries.append(TensorEntry(name: name, dtype: dt, shape: shape, begin: Int(b), end: Int(e)))
        }
        self.metadata = metadata
        self.entries = entries
        self.bytes = bytes
        self.dataStart = dataStart
    }

    public func entry(_ name: String) -> TensorEntry? { entries.first { $0.name == name } }

    /// The tensor as Float32 (F32 as is; F64, F16, BF16 converted).
    public func floats(_ name: String) throws -> [Float] {
        guard let e = entry(name) else { throw RobustError.format(path: source, reason: "missing tensor \(name)") }
        let base = dataStart + e.begin
        var out = [Float](repeating: 0, count: e.count)
        for i in 0..<e.count {
            switch e.dtype {
            case .F32: out[i] = Float(bitPattern: le32(base + 4 * i))
            case .F64: out[i] = Float(Double(bitPattern: le64(base + 8 * i)))
            case .F16: out[i] = Float(Float16(bitPattern: UInt16(bytes[base + 2 * i]) | UInt16(bytes[base + 2 * i + 1]) << 8))
            case .BF16: out[i] = Float(bitPattern: (UInt32(bytes[base + 2 * i]) | UInt32(bytes[base + 2 * i + 1]) << 8) << 16)
            default: throw RobustError.format(path: source, reason: "tensor \(name) is \(e.dtype.rawValue), expected a float type")
            }
        }
        return out
    }

    public func int64s(_ name: String) throws -> [Int64] {
        guard let e = entry(name) else { throw RobustError.format(path: source, reason: "missing tensor \(name)") }
        let base = dataStart + e.begin
        switch e.dtype {
        case .I64: return (0..<e.count).map { Int64(bitPattern: le64(base + 8 * $0)) }
        case .I32: return (0..<e.count).map { Int64(Int32(bitPattern: le32(base + 4 * $0))) }
        default: throw RobustError.format(path: source, reason: "tensor \(name) is \(e.dtype.rawValue), expected an integer type")
        }
    }

    private func le32(_ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    private func le64(_ at: Int) -> UInt64 { UInt64(le32(at)) | UInt64(le32(at + 4)) << 32 }
}

/// Collects tensors and metadata, then writes a safetensors file atomically.
public struct SafeTensorsWriter {
    private var header: [(String, JSON)] = []
    private var blobs: [[UInt8]] = []
    private var offset = 0
    public var metadata: [String: String] = [:]

    public init() {}

    public mutating func add(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) {
        precondition(shape.reduce(1, *) == floats.count)
        var b = [UInt8](repeating: 0, count: floats.count * 4)
        b.withUnsafeMutableBytes { dst in
            for (i, f) in floats.enumerated() { dst.storeBytes(of: f.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        append(name, "F32", shape, b)
    }

    public mutating func add(_ name: String, shape: [Int], floats: [Float]) {
        floats.withUnsafeBufferPointer { add(name, shape: shape, floats: $0) }
    }

    public mutating func add(_ name: String, tensor: Tensor) {
        add(name, shape: tensor.shape, floats: UnsafeBufferPointer(tensor.buffer))
    }

    public mutating func add(_ name: String, shape: [Int], int64s: [Int64]) {
        precondition(shape.reduce(1, *) == int64s.count)
        var b = [UInt8](repeating: 0, count: int64s.count * 8)
        b.withUnsafeMutableBytes { dst in
            for (i, v) in int64s.enumerated() { dst.storeBytes(of: v.littleEndian, toByteOffset: 8 * i, as: Int64.self) }
        }
        append(name, "I64", shape, b)
    }

    private mutating func append(_ name: String, _ dtype: String, _ shape: [Int], _ b: [UInt8]) {
        header.append((name, .object([("dtype", .string(dtype)),
                                      ("shape", .array(shape.map { .int(Int64($0)) })),
                                      ("data_offsets", .array([.int(Int64(offset)), .int(Int64(offset + b.count))]))])))
        blobs.append(b)
        offset += b.count
    }

    /// The file's bytes: header padded with spaces to a multiple of 8, then the data.
    public func serialize() -> [UInt8] {
        var h = header
        if !metadata.isEmpty {
            h.insert(("__metadata__", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })), at: 0)
        }
        var text = Array(JSON.object(h).serialized.utf8)
        while (8 + text.count) % 8 != 0 { text.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + text.count + offset)
        let n = UInt64(text.count)
        for i in 0..<8 { out.append(UInt8((n >> (8 * UInt64(i))) & 0xFF)) }
        out += text
        for b in blobs { out += b }
        return out
    }

    public func write(_ path: String) throws { try FileIO.writeAtomically(path, bytes: serialize()) }
}
