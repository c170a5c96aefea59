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

    /// A buffer of at least `count` floats apart from the slots: the direct convolution's packed
    /// input, which every worker writes a part of. In slot 0 it would share memory with worker
    /// 0's Winograd bands, whose cache lines then come back from the other cores every layer
    /// (measured apart, three alternating pairs of width-16 passes: 351.6-352.4 against
    /// 354.7-355.8 us, the caller's serial shortcut im2col into slot 0 38 -> 34 us).
    func packBuffer(_ count: Int) -> UnsafeMutablePointer<Float> {
        if pack.count < count { pack = Tensor([count]) }
        return pack.data
    }
    private var pack = Tensor([0])

    public var bytes: Int { storage.reduce(pack.count * 4) { $0 + $1.count * 4 } }
}
