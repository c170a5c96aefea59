// Scratch memory shared by the layers of one network: the im2col matrix of whichever
// convolution is running. It grows to the largest need and is then reused every step,
// so training allocates nothing per step once the first batch has run.

public final class Workspace: @unchecked Sendable {
    private var storage = Tensor([0])

    public init() {}

    func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
        if storage.count < count { storage = Tensor([count]) }
        return storage.data
    }

    public var bytes: Int { storage.count * 4 }
}
