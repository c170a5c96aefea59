// Scratch memory shared by the layers of one network: the im2col matrix of whichever
// convolution is running. It grows to the largest need and is then reused every step,
// so training allocates nothing per step once the first batch has run.

public final class Workspace: @unchecked Sendable {
    private var storage: [Tensor] = []

    public init() {}

    /// `slots` buffers of at least `count` floats each, one per worker. Called by the owner
    /// before going parallel; the workers only use the pointers.
    func buffers(_ count: Int, slots: Int) -> [UnsafeMutablePointer<Float>] {
        while storage.count < slots { storage.append(Tensor([0])) }
        for i in 0..<slots where storage[i].count < count { storage[i] = Tensor([count]) }
        return storage.prefix(slots).map(\.data)
    }

    public var bytes: Int { storage.reduce(0) { $0 + $1.count * 4 } }
}
