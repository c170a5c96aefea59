// A small generated image dataset that a network can learn in minutes: each class is a
// colour and stripe pattern with pixel noise. Used where CIFAR-10 is absent (the README's
// main job on a fresh machine) and by tests, which must not depend on downloaded data.

public enum SyntheticData {
    public static func make(count: Int, classes: Int = 10, size: Int = 32, seed: UInt64 = 7) -> Dataset {
        var rng = RNG(seed: seed)
        let names = classes == 10 ? cifar10ClassNames : (0..<classes).map { "class\($0)" }
        var ds = Dataset(height: size, width: size, classNames: names)
        ds.pixels.reserveCapacity(count * size * size * 3)
        // Ten well-separated colours; the stripe orientation and period add texture.
        let palette: [(Int, Int, Int)] = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
                                          (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (128, 128, 0)]
        for i in 0..<count {
            let k = i % classes
            let period = 2 + k / 2
            let phase = rng.int(period * 2)
            let col = palette[k % palette.count]
            for y in 0..<size {
                for x in 0..<size {
                    let stripe = (((k % 2 == 0 ? x : y) + phase) / period) % 2
                    for c in [col.0, col.1, col.2] {
                        let v = Float(c) * (stripe == 1 ? 1.0 : 0.6) + rng.normal() * 25
                        ds.pixels.append(UInt8(max(0, min(255, v.rounded()))))
                    }
                }
            }
            ds.labels.append(Int32(k))
            ds.sources.append("synthetic#\(i)")
        }
        return ds
    }

    /// Writes train/<class>/*.png and test/<class>/*.png under root.
    public static func writeImageFolders(root: String, trainCount: Int, testCount: Int, seed: UInt64 = 7) throws {
        for (split, n, s) in [("train", trainCount, seed), ("test", testCount, seed &+ 1)] {
            let ds = make(count: n, seed: s)
            for name in ds.classNames { try FileIO.makeDirectory(joinPath(joinPath(root, split), name)) }
            for i in 0..<ds.count {
                let img = RGBImage(width: ds.width, height: ds.height,
                                   pixels: Array(ds.pixels[(i * ds.imageBytes)..<((i + 1) * ds.imageBytes)]))
                let name = ds.classNames[Int(ds.labels[i])]
                // Every other image is a JPEG, so that both decoders see use.
                let jpeg = i % 2 == 1
                try FileIO.writeAtomically(joinPath(joinPath(joinPath(root, split), name), "\(i).\(jpeg ? "jpg" : "png")"),
                                           bytes: jpeg ? try ImageCodec.encodeJPEG(img, quality: 95) : try ImageCodec.encodePNG(img))
            }
        }
    }
}
