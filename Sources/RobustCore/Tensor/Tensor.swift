// Tensor: a Float32 buffer with a shape, 64-byte aligned, owned by the object.
//
// The engine's public convention is NCHW. Inside the network, activations are stored
// channel-major, [C, N, H, W]: each convolution then becomes a single GEMM over the whole
// batch, and batch norm reduces each channel over one contiguous block.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class Tensor: @unchecked Sendable {
    public private(set) var shape: [Int]
    public private(set) var count: Int
    public private(set) var data: UnsafeMutablePointer<Float>
    private var capacity: Int

    public init(_ shape: [Int]) {
        let n = shape.reduce(1, *)
        self.shape = shape
        self.count = n
        self.capacity = n
        self.data = Tensor.allocate(n)
        data.initialize(repeating: 0, count: n)
    }

    public convenience init(_ shape: [Int], values: [Float]) {
        self.init(shape)
        precondition(values.count == count, "Tensor(\(shape)): \(values.count) values")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { free(data) }

    static func allocate(_ n: Int) -> UnsafeMutablePointer<Float> {
        var raw: UnsafeMutableRawPointer?
        let bytes = max(n, 1) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes")
        }
        return raw.bindMemory(to: Float.self, capacity: max(n, 1))
    }

    /// Changes the shape, reallocating only when the buffer must grow. Contents are undefined
    /// afterwards when it grows. Used so that per-batch buffers are allocated once.
    public func reshape(_ newShape: [Int]) {
        let n = newShape.reduce(1, *)
        if n > capacity {
            free(data)
            data = Tensor.allocate(n)
            capacity = n
        }
        shape = newShape
        count = n
    }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }
    public var array: [Float] { Array(buffer) }
    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }

    public func zero() { data.update(repeating: 0, count: count) }
    public func fill(_ v: Float) { data.update(repeating: v, count: count) }
    public func copy(from other: Tensor) {
        precondition(other.count == count)
        data.update(from: other.data, count: count)
    }
}
