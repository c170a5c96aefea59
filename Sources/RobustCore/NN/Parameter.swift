// A learnable tensor with its gradient, or a buffer (running statistics) that is saved
// but not trained. Names are PyTorch's state_dict keys.

public final class Parameter: @unchecked Sendable {
    public let name: String
    /// Code that writes `value` must call `markModified()` afterwards: layers cache values
    /// derived from it (the Winograd-transformed filters) and rebuild them when `version` moves.
    public let value: Tensor
    /// nil for buffers (running_mean, running_var).
    public let grad: Tensor?

    public init(_ name: String, _ shape: [Int], trainable: Bool = true) {
        self.name = name
        self.value = Tensor(shape)
        self.grad = trainable ? Tensor(shape) : nil
    }

    public var isTrainable: Bool { grad != nil }

    /// Bumped by every writer of `value` (optimizer step, initialization, loading).
    public private(set) var version = 0
    public func markModified() { version &+= 1 }
}

/// Anything that owns parameters, listed in state_dict order with their full names.
public protocol Module: AnyObject {
    /// Learnable parameters and float buffers, with PyTorch names.
    var parameters: [Parameter] { get }
    /// Integer buffers (`num_batches_tracked`), with PyTorch names.
    var counters: [Counter] { get }
}

/// An integer buffer such as batch norm's num_batches_tracked (saved as I64).
public final class Counter: @unchecked Sendable {
    public let name: String
    public var value: Int64 = 0
    public init(_ name: String) { self.name = name }
}

extension Module {
    public var counters: [Counter] { [] }
}

/// Whether layers use batch statistics and cache what backward needs.
public enum Mode: Sendable { case train, eval }
