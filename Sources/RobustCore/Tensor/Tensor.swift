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
    /// The elements: the tensor's own buffer, or its shared storage's when bound to one.
    public var data: UnsafeMutablePointer<Float> { shared?.data ?? own }
    private var own: UnsafeMutablePointer<Float>
    private var capacity: Int
    /// Storage this tensor shares with others whose values are never alive at the same time
    /// (the network's backward pass: see ResNet18.shareGradientBuffers).
    public private(set) var shared: SharedStorage?
    /// How the elements are stored when not [C, N, H, W]: a single image band by band
    /// (RowBands), set by the layer that wrote them; reshape resets it.
    var bands: RowBands?

    public init(_ shape: [Int]) {
        let n = shape.reduce(1, *)
        self.shape = shape
        self.count = n
        self.capacity = n
        self.own = Tensor.allocate(n)
        own.initialize(repeating: 0, count: n)
    }

    public convenience init(_ shape: [Int], values: [Float]) {
        self.init(shape)
        precondition(values.count == count, "Tensor(\(shape)): \(values.count) values")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { free(own) }

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
        if let s = shared {
            s.reserve(n)
        } else if n > capacity {
            free(own)
            own = Tensor.allocate(n)
            capacity = n
        }
        shape = newShape
        count = n
        bands = nil
    }

    /// From now on this tensor's elements live in `storage` (its own buffer is released).
    public func bind(to storage: SharedStorage) {
        free(own)
        own = Tensor.allocate(0)
        capacity = 0
        shared = storage
        storage.reserve(count)
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

/// One growable buffer several tensors use in turn. Growing it invalidates what it held, so
/// the owner reserves the largest size before a pass that relies on its contents.
public final class SharedStorage: @unchecked Sendable {
    public private(set) var data: UnsafeMutablePointer<Float>
    public private(set) var capacity = 0

    public init() { data = Tensor.allocate(0) }
    deinit { free(data) }

    public func reserve(_ n: Int) {
        guard n > capacity else { return }
        free(data)
        data = Tensor.allocate(n)
        capacity = n
    }
}
