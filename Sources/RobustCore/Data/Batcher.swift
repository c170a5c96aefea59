// Turning stored uint8 images into a normalized network input, [3, N, H, W] channel-major,
// with the CIFAR training augmentation: a random HxW crop of the image zero-padded by 4
// pixels, then a horizontal flip with probability 0.5 (torchvision's RandomCrop(32, padding=4)
// and RandomHorizontalFlip, padding in pixel space, so padded pixels normalize to -mean/std).

public struct Augmentation: Sendable {
    public var padding: Int = 4
    public var flip: Bool = true
    public init(padding: Int = 4, flip: Bool = true) { self.padding = padding; self.flip = flip }
}

public final class Batcher: @unchecked Sendable {
    public let normalization: Normalization
    /// lut[c][v] = (v/255 - mean[c]) / std[c]
    private let lut: [Float]

    public init(normalization: Normalization) {
        self.normalization = normalization
        var t = [Float](repeating: 0, count: 3 * 256)
        for c in 0..<3 { for v in 0..<256 { t[c * 256 + v] = (Float(v) / 255 - normalization.mean[c]) / normalization.std[c] } }
        lut = t
    }

    /// Fills `input` ([3, B, H, W]) and `labels` with dataset[indices], augmented when
    /// `augment` is set; image b's crop and flip come from rng stream (seed, tagBase + b),
    /// so the result does not depend on thread scheduling.
    public func fill(_ input: Tensor, labels: inout [Int32], from ds: Dataset, indices: ArraySlice<Int>,
                     augment: Augmentation?, seed: UInt64 = 0, tagBase: UInt64 = 0) {
        let b = indices.count, h = ds.height, w = ds.width, plane = h * w
        precondition(ds.pixels.count >= ds.count * ds.imageBytes, "Dataset holds fewer pixels than count x H x W x 3")
        precondition(indices.allSatisfy { $0 >= 0 && $0 < ds.count }, "Batcher: index out of range")
        input.reshape([3, b, h, w])
        if labels.count != b { labels = [Int32](repeating: 0, count: b) }
        for (j, i) in indices.enumerated() { labels[j] = ds.labels[i] }
        let idx = Array(indices)
        nonisolated(unsafe) let out = input.data
        ds.pixels.withUnsafeBufferPointer { px in
            lut.withUnsafeBufferPointer { lut in
                nonisolated(unsafe) let px = px, lut = lut
                parallelFor(b, work: b * plane * 3 * 4) { j in
                    let src = px.baseAddress! + idx[j] * plane * 3
                    var oy = 0, ox = 0, flip = false
                    if let aug = augment {
                        var rng = RNG.derived(seed: seed, tagBase &+ UInt64(j))
                        oy = rng.int(2 * aug.padding + 1) - aug.padding
                        ox = rng.int(2 * aug.padding + 1) - aug.padding
                        flip = aug.flip && rng.uniform() < 0.5
                    }
                    for c in 0..<3 {
                        let dst = out + (c * b + j) * plane
                        let l = lut.baseAddress! + c * 256
                        let fillValue = l[0]
                        for y in 0..<h {
                            let sy = y + oy
                            let row = dst + y * w
                            if sy < 0 || sy >= h { row.update(repeating: fillValue, count: w); continue }
                            for x in 0..<w {
                                let cx = flip ? w - 1 - x : x
                                let sx = cx + ox
                                row[x] = (sx < 0 || sx >= w) ? fillValue : l[Int(src[(sy * w + sx) * 3 + c])]
                            }
                        }
                    }
                }
            }
        }
    }
}
