// SGD with momentum and weight decay, step for step as torch.optim.SGD:
//   g = grad + wd * p ;  buf = momentum * buf + g  (buf = g on the first step)
//   nesterov: g = g + momentum * buf, else g = buf ;  p -= lr * g

public final class SGD: @unchecked Sendable {
    public let parameters: [Parameter]
    public var momentum: Float
    public var weightDecay: Float
    public var nesterov: Bool
    /// One momentum buffer per trainable parameter, in `parameters` order.
    public let buffers: [Tensor]
    public var hasMomentum = false

    public init(_ parameters: [Parameter], momentum: Float = 0.9, weightDecay: Float = 5e-4, nesterov: Bool = false) {
        self.parameters = parameters.filter(\.isTrainable)
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        buffers = self.parameters.map { Tensor($0.value.shape) }
    }

    public func step(lr: Float) {
        let mom = momentum, wd = weightDecay, nest = nesterov, first = !hasMomentum
        for (p, buf) in zip(parameters, buffers) {
            nonisolated(unsafe) let w = p.value.data, gr = p.grad!.data, b = buf.data
            parallelChunks(p.value.count, minChunk: 65536) { r in
                for i in r {
                    let g = gr[i] + wd * w[i]
                    let v = first ? g : mom * b[i] + g
                    b[i] = v
                    w[i] -= lr * (nest ? g + mom * v : v)
                }
            }
        }
        for p in parameters { p.markModified() }
        hasMomentum = true
    }
}
