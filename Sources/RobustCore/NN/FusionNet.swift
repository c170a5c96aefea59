// FusionNet: an image and a metadata field (a claimed class) in one classifier, the study's
// third experiment. Image branch: ResNet-18 up to its pooled features [N, 8w]. Metadata
// branch: an MLP on the one-hot claim plus a "missing" token (K + 1 inputs). The two are
// concatenated and a linear head gives the logits:
//
//   f = encoder(x)                          [N, 8w]
//   m = relu(W2 relu(W1 onehot(meta) + b1) + b2)   [N, H]
//   logits = W [f, m] + b                   [N, K]
//
// Modality dropout zeroes f (image dropout) or replaces the claim with the missing token
// (metadata dropout) per sample during training. Parameter names follow a PyTorch module
// with fields image_encoder (the ResNet-18, without its linear layer), meta_encoder (an
// nn.Sequential: Linear, ReLU, Linear, ReLU) and head.

/// y = max(0, x), keeping what backward needs.
public final class ReLU: @unchecked Sendable {
    public let output = Tensor([0])
    public let inputGrad = Tensor([0])
    public init() {}

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        output.reshape(x.shape)
        for i in 0..<x.count { output.data[i] = max(0, x.data[i]) }
        return output
    }

    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        inputGrad.reshape(dy.shape)
        for i in 0..<dy.count { let d = dy.data[i]; inputGrad.data[i] = output.data[i] > 0 ? d : 0 }
        return inputGrad
    }
}

public final class FusionNet: Module, @unchecked Sendable {
    public let numClasses: Int
    public let hidden: Int
    public let image: ResNet18
    public let meta1: Linear, meta2: Linear
    let relu1 = ReLU(), relu2 = ReLU()
    public let head: Linear
    /// The metadata input: one-hot claims, or the missing token at index numClasses.
    let metaInput = Tensor([0])
    let fused = Tensor([0])
    let imageGrad = Tensor([0]), metaGrad = Tensor([0])
    /// Which samples' image features were kept in the last training forward.
    private var imageKept: [Bool] = []

    /// The value of a missing claim in `meta`.
    public static let missing: Int32 = -1

    public init(width: Int, numClasses: Int, hidden: Int = 64) {
        self.numClasses = numClasses; self.hidden = hidden
        image = ResNet18(width: width, numClasses: numClasses)
        meta1 = Linear("meta_encoder.0", inFeatures: numClasses + 1, outFeatures: hidden)
        meta2 = Linear("meta_encoder.2", inFeatures: hidden, outFeatures: hidden)
        head = Linear("head", inFeatures: 8 * width + hidden, outFeatures: numClasses)
    }

    public var width: Int { image.width }
    public var featureCount: Int { 8 * image.width }

    /// image_encoder.* (the ResNet-18 without its linear layer), meta_encoder.*, head.*
    public var parameters: [Parameter] { image.encoderParameters + fusionParameters }
    public var counters: [Counter] { image.counters }

    /// The names these parameters have in a saved model: image_encoder.<ResNet-18 name> for
    /// the image branch, the rest as they are.
    public static func savedName(_ p: Parameter, in net: FusionNet) -> String {
        net.image.encoderParameters.contains { $0 === p } ? "image_encoder." + p.name : p.name
    }

    /// PyTorch's default initialization for every layer (see ResNet18.initialize).
    public func initialize(seed: UInt64) {
        image.initialize(seed: seed)
        var rng = RNG.derived(seed: seed, 0xF05E)
        for l in [meta1, meta2, head] {
            let bound = 1 / Float(l.inFeatures).squareRoot()
            for i in 0..<l.weight.value.count { l.weight.value[i] = rng.uniform(-bound, bound) }
            for i in 0..<l.bias.value.count { l.bias.value[i] = rng.uniform(-bound, bound) }
            l.weight.markModified(); l.bias.markModified()
        }
    }

    /// x: normalized images [3, N, H, W]; meta: N claimed classes (FusionNet.missing for
    /// none); keepImage: per sample, false zeroes its image features (image dropout; nil
    /// keeps all). Returns logits [N, K].
    @discardableResult
    public func forward(_ x: Tensor, meta: [Int32], keepImage: [Bool]? = nil, mode: Mode) -> Tensor {
        precondition(meta.count == x.shape[1], "\(meta.count) claims for \(x.shape[1]) images")
        return fuse(image.encode(x, mode: mode), meta: meta, keepImage: keepImage, mode: mode)
    }

    /// The layers after the image encoder: image features [N, 8w] (from `image.encode`) and
    /// claims to logits [N, K]. Evaluation calls this directly to try many claims on the
    /// same images without running the encoder again.
    @discardableResult
    public func fuse(_ feats: Tensor, meta: [Int32], keepImage: [Bool]? = nil, mode: Mode) -> Tensor {
        let n = feats.shape[0], f = featureCount, k = numClasses
        precondition(feats.shape == [n, f] && meta.count == n, "features \(feats.shape) and \(meta.count) claims")
        metaInput.reshape([n, k + 1])
        metaInput.data.update(repeating: 0, count: n * (k + 1))
        for i in 0..<n {
            let c = Int(meta[i])
            precondition(c == Int(FusionNet.missing) || (0..<k).contains(c), "claim \(c) is not a class")
            metaInput.data[i * (k + 1) + (c < 0 ? k : c)] = 1
        }
        let m = relu2.forward(meta2.forward(relu1.forward(meta1.forward(metaInput, mode: mode)), mode: mode))
        fused.reshape([n, f + hidden])
        imageKept = keepImage ?? [Bool](repeating: true, count: n)
        precondition(imageKept.count == n)
        for i in 0..<n {
            let row = fused.data + i * (f + hidden)
            if imageKept[i] { row.update(from: feats.data + i * f, count: f) } else { row.update(repeating: 0, count: f) }
            (row + f).update(from: m.data + i * hidden, count: hidden)
        }
        return head.forward(fused, mode: mode)
    }

    /// The layers after the image encoder: metadata encoder and head.
    public var fusionParameters: [Parameter] { meta1.parameters + meta2.parameters + head.parameters }

    /// dLogits [N, K]: fills every parameter's grad (the image encoder's only when
    /// `throughImage`; a frozen encoder needs no gradient).
    public func backward(_ dLogits: Tensor, throughImage: Bool = true) {
        let n = dLogits.shape[0], f = featureCount
        let dFused = head.backward(dLogits)
        imageGrad.reshape([n, f]); metaGrad.reshape([n, hidden])
        for i in 0..<n {
            let row = dFused.data + i * (f + hidden)
            if imageKept[i] { (imageGrad.data + i * f).update(from: row, count: f) }
            else { (imageGrad.data + i * f).update(repeating: 0, count: f) }
            (metaGrad.data + i * hidden).update(from: row + f, count: hidden)
        }
        meta1.backward(relu1.backward(meta2.backward(relu2.backward(metaGrad))), needInputGrad: false)
        if throughImage { image.backward(features: imageGrad) }
    }
}
