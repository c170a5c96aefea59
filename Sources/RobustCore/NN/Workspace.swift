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

    /// A buffer of at least `count` floats apart from the slots, for scratch that every worker
    /// writes a part of: the direct convolution's packed input, the Winograd phases' V and M.
    /// Slot t is written by worker t alone (a single image's bands, the fused shortcut), so its
    /// lines stay in that worker's cache; scratch that all workers write, kept in slot 0, sent
    /// worker 0's lines to the other cores every layer. Measured apart: the direct pack in its
    /// own buffer, three alternating pairs of width-16 passes 351.6-352.4 against 354.7-355.8 us
    /// (the caller's serial shortcut im2col into slot 0 38 -> 34 us); the Winograd phases in
    /// their own buffer, three pairs 345.1-347.9 against 347.4-348.4 us (the stem's band 0
    /// 8.6 -> 5.9 us, now even with band 1).
    /// One buffer per use (`Shared`): two multi-writer uses in one buffer split it differently.
    func sharedBuffer(_ count: Int, for use: Shared) -> UnsafeMutablePointer<Float> {
        if shared[use.rawValue].count < count { shared[use.rawValue] = Tensor([count]) }
        return shared[use.rawValue].data
    }
    private var shared = [Tensor([0]), Tensor([0]), Tensor([0])]

    enum Shared: Int { case directPack = 0, winogradPhases = 1, gradPartials = 2 }

    public var bytes: Int { storage.reduce(shared.reduce(0) { $0 + $1.count * 4 }) { $0 + $1.count * 4 } }
}
