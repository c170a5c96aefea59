// ResNet's BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)),
// shortcut = identity, or 1x1 conv + BN when the stride or the width changes.

public final class BasicBlock: Module, @unchecked Sendable {
    public let conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d
    public let shortcutConv: Conv2d?, shortcutBN: BatchNorm2d?
    let join = AddReLU()
    public let inputGrad = Tensor([0])

    public init(_ name: String, cin: Int, cout: Int, stride: Int, workspace: Workspace) {
        conv1 = Conv2d(name + ".conv1", cin: cin, cout: cout, k: 3, stride: stride, pad: 1, workspace: workspace)
        bn1 = BatchNorm2d(name + ".bn1", channels: cout, relu: true)
        conv2 = Conv2d(name + ".conv2", cin: cout, cout: cout, k: 3, stride: 1, pad: 1, workspace: workspace)
        bn2 = BatchNorm2d(name + ".bn2", channels: cout)
        if stride != 1 || cin != cout {
            shortcutConv = Conv2d(name + ".shortcut.0", cin: cin, cout: cout, k: 1, stride: stride, workspace: workspace)
            shortcutBN = BatchNorm2d(name + ".shortcut.1", channels: cout)
        } else {
            shortcutConv = nil; shortcutBN = nil
        }
    }

    public var parameters: [Parameter] {
        var p = conv1.parameters + bn1.parameters + conv2.parameters + bn2.parameters
        if let sc = shortcutConv, let sb = shortcutBN { p += sc.parameters + sb.parameters }
        return p
    }

    public var counters: [Counter] { bn1.counters + bn2.counters + (shortcutBN?.counters ?? []) }

    @discardableResult
    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        if mode == .eval {
            // The projection shortcut reads the same input as conv1: in evaluation conv1
            // computes it too, inside its own parallel job where it can.
            var shortcut: (Conv2d, ChannelAffine)?
            if let sc = shortcutConv, let sb = shortcutBN { shortcut = (sc, sb.folded()) }
            if !FusedShortcut.enabled, let (sc, ep) = shortcut {
                sc.forward(x, mode: .eval, epilogue: ep)
                shortcut = nil
            }
            let h = conv1.forward(x, mode: .eval, epilogue: bn1.folded(), shortcut: shortcut)
            let skip = shortcutConv?.output ?? x
            // bn2, the residual add and the ReLU all happen in conv2's epilogue.
            var e = bn2.folded()
            e.relu = true
            return conv2.forward(h, mode: .eval, epilogue: e, residual: skip)
        }
        let h = conv1.forward(x, mode: mode, then: bn1)
        var skip = x
        if let sc = shortcutConv, let sb = shortcutBN { skip = sc.forward(x, mode: mode, then: sb) }
        let main = conv2.forward(h, mode: mode, then: bn2)
        return join.forward(main, skip)
    }

    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        let g = join.backward(dy)
        let dh = bn1.backward(conv2.backward(bn2.backward(g)))
        let dxMain = conv1.backward(dh)
        let dxSkip = if let sc = shortcutConv, let sb = shortcutBN { sc.backward(sb.backward(g)) } else { g }
        inputGrad.reshape(dxMain.shape)
        nonisolated(unsafe) let a = dxMain.data, b = dxSkip.data, d = inputGrad.data
        Profiler.measure("block.grad_sum") {
            parallelChunks(inputGrad.count, minChunk: 16384) { r in for i in r { d[i] = a[i] + b[i] } }
        }
        return inputGrad
    }
}
