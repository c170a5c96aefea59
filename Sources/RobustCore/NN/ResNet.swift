// ResNet-18, CIFAR variant: 3x3 stride-1 stem, no max-pool, BasicBlocks [2,2,2,2] at widths
// [w, 2w, 4w, 8w] with strides [1,2,2,2], global average pooling, linear.
// At width 64 it has exactly 11,173,962 parameters, as torchvision-style CIFAR ResNet-18.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class ResNet18: Module, @unchecked Sendable {
    public let width: Int
    public let numClasses: Int
    public let workspace = Workspace()
    public let conv1: Conv2d
    public let bn1: BatchNorm2d
    public let blocks: [BasicBlock]
    public let pool = GlobalAvgPool()
    public let linear: Linear
    /// Pooled features [N, 8w] of the last forward: the image encoder's output.
    public var features: Tensor { pool.output }

    public init(width: Int = 64, numClasses: Int = 10, inChannels: Int = 3) {
        self.width = width
        self.numClasses = numClasses
        conv1 = Conv2d("conv1", cin: inChannels, cout: width, k: 3, stride: 1, pad: 1, workspace: workspace)
        bn1 = BatchNorm2d("bn1", channels: width, relu: true)
        var blocks: [BasicBlock] = []
        var cin = width
        for (stage, (mult, stride)) in [(1, 1), (2, 2), (4, 2), (8, 2)].enumerated() {
            let cout = width * mult
            for i in 0..<2 {
                blocks.append(BasicBlock("layer\(stage + 1).\(i)", cin: cin, cout: cout,
                                         stride: i == 0 ? stride : 1, workspace: workspace))
                cin = cout
            }
        }
        self.blocks = blocks
        linear = Linear("linear", inFeatures: 8 * width, outFeatures: numClasses)
        shareGradientBuffers()
        // A single image's activations may stay stored by bands (RowBands) through each stage's
        // band layers: the stem, every block's first convolution, and a block's last when the
        // next block keeps the size (its conv1 and its residual read the same bands) or starts
        // the next stage (its stride-2 conv1 and fused shortcut read any bands). The last block
        // feeds the pooling, which reads planar.
        conv1.bandedOutput = .sameSplit
        for (i, blk) in blocks.enumerated() {
            blk.conv1.bandedOutput = .sameSplit
            blk.conv2.bandedOutput = i + 1 == blocks.count ? .never
                : blocks[i + 1].shortcutConv == nil ? .sameSplit : .anySplit
        }
    }

    /// Four buffers hold every activation gradient of the backward pass instead of one per
    /// layer (at width 64, batch 128: 4 x 34 MB instead of ~850 MB). Per block, with P the
    /// slot the block's output gradient arrives in and leaves from:
    ///   join (in place, P) -> bn2 (A) -> conv2 (B) -> bn1 (A) -> conv1 (B)
    ///   shortcut: bn (A) -> conv (C);  block input gradient = B + (P or C), into P.
    /// Each layer reads one slot and writes another, and no slot is overwritten while a
    /// later layer still needs it (g in P stays alive until the shortcut has read it).
    /// ROBUST_SHARED_GRADS=0 keeps one buffer per layer (for measuring what sharing saves).
    private func shareGradientBuffers() {
        if getenvString("ROBUST_SHARED_GRADS") == "0" { return }
        let p = gradientSlots[0], a = gradientSlots[1], b = gradientSlots[2], c = gradientSlots[3]
        pool.inputGrad.bind(to: p)
        for blk in blocks {
            blk.join.inputGrad.bind(to: p)
            blk.bn2.inputGrad.bind(to: a)
            blk.conv2.inputGrad.bind(to: b)
            blk.bn1.inputGrad.bind(to: a)
            blk.conv1.inputGrad.bind(to: b)
            blk.shortcutBN?.inputGrad.bind(to: a)
            blk.shortcutConv?.inputGrad.bind(to: c)
            blk.inputGrad.bind(to: p)
        }
        bn1.inputGrad.bind(to: a)
    }

    let gradientSlots = [SharedStorage(), SharedStorage(), SharedStorage(), SharedStorage()]

    /// Bytes held by the shared gradient buffers.
    public var gradientBytes: Int { gradientSlots.reduce(0) { $0 + $1.capacity * 4 } }

    public var parameters: [Parameter] {
        conv1.parameters + bn1.parameters + blocks.flatMap(\.parameters) + linear.parameters
    }

    public var counters: [Counter] { bn1.counters + blocks.flatMap(\.counters) }

    public var parameterCount: Int { parameters.filter(\.isTrainable).reduce(0) { $0 + $1.value.count } }

    /// PyTorch's default initialization: kaiming-uniform(a=sqrt(5)) for conv and linear weights
    /// (bound 1/sqrt(fan_in)), uniform(+-1/sqrt(fan_in)) for the linear bias, BN at (1, 0).
    public func initialize(seed: UInt64) {
        var rng = RNG(seed: seed)
        for p in parameters where p.isTrainable && p.value.shape.count >= 2 {
            let fanIn = p.value.shape.dropFirst().reduce(1, *)
            let bound = 1 / Float(fanIn).squareRoot()
            for i in 0..<p.value.count { p.value[i] = rng.uniform(-bound, bound) }
        }
        let bound = 1 / Float(linear.inFeatures).squareRoot()
        for i in 0..<numClasses { linear.bias.value[i] = rng.uniform(-bound, bound) }
        for p in parameters { p.markModified() }
    }

    /// x: normalized images, channel-major [3, N, H, W]. Returns logits [N, classes].
    @discardableResult
    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        linear.forward(encode(x, mode: mode), mode: mode)
    }

    /// The image encoder alone: pooled features [N, 8w] (FusionNet's image branch).
    @discardableResult
    public func encode(_ x: Tensor, mode: Mode) -> Tensor {
        // A single image's pass is latency-bound: one worker or all, whichever is faster on
        // this machine at the moment (WorkerChoice says why that changes).
        if mode == .eval && x.shape.count == 4 && x.shape[1] == 1 {
            return workerChoice.run { encodeLayers(x, mode: mode) }
        }
        return encodeLayers(x, mode: mode)
    }

    /// How many workers single-image passes use (measured, see WorkerChoice).
    public let workerChoice = WorkerChoice()

    private func encodeLayers(_ x: Tensor, mode: Mode) -> Tensor {
        var h = conv1.forward(x, mode: mode, then: bn1)
        for b in blocks { h = b.forward(h, mode: mode) }
        precondition(h.bands == nil, "the last block's output is planar")
        return pool.forward(h)
    }

    /// dLogits: [N, classes]. Fills every parameter's grad.
    public func backward(_ dLogits: Tensor) {
        backward(features: linear.backward(dLogits))
    }

    /// From the gradient of the pooled features [N, 8w] back through the encoder (the
    /// linear layer's grads are left as they are).
    public func backward(features dFeatures: Tensor) {
        // Size every slot for the largest activation first: a slot growing mid-pass would
        // drop a gradient that is still alive.
        let largest = max(bn1.output.count, blocks.map { max($0.bn1.output.count, $0.join.output.count) }.max() ?? 0)
        for s in gradientSlots { s.reserve(largest) }
        var g = pool.backward(dFeatures)
        for b in blocks.reversed() { g = b.backward(g) }
        conv1.backward(bn1.backward(g), needInputGrad: false)
    }

    /// The encoder's parameters: all but the linear layer.
    public var encoderParameters: [Parameter] { conv1.parameters + bn1.parameters + blocks.flatMap(\.parameters) }
}
