// A generated dataset with known, planted problems: the report's default where no real data
// is present, and the ground truth its findings are checked against.
//
// Images (32 x 32): a smooth random background (a base colour plus a few broad Gaussian
// blobs, so that no two images look alike and near-duplicate hashes stay apart) and one
// object, a disc or a square at a random place and size, whose colour is its class (one of
// ten hues, jittered). Light pixel noise (sigma 0.015 on [0, 1]).
//
// Problems are planted on disjoint training images: mislabeled (filed under another class's
// folder), blurred (Gaussian, sigma 1.5), noisy (Gaussian, sigma 0.1), and a metadata claim
// that names another class. Duplicates are extra files: exact copies of a training image,
// and near copies (contrast and brightness edited, x 0.9 + 0.03). The test split is clean.
// Written beside the folders: metadata.csv (path, meta: each image's claimed class, its true
// class except where a conflict was planted) and truth.csv (path, problem, detail).

public struct PlantRates: Sendable, Equatable {
    public var mislabeled = 0.08, blurred = 0.03, noisy = 0.03, metadataConflict = 0.05
    /// Extra files, as a share of the training images: exact copies and near copies.
    public var duplicates = 0.01, nearDuplicates = 0.01
    public init() {}
}

/// One planted problem: the file (relative to the dataset root), what is wrong, and the
/// detail a check needs (the true class, the claimed class, the original of a copy).
public struct PlantedProblem: Sendable, Equatable {
    public var path: String
    public var problem: String
    public var detail: String
}

public enum PlantedData {
    /// Problem names as truth.csv writes them.
    public static let problemKinds = ["mislabeled", "blurred", "noisy", "duplicate", "near_duplicate", "metadata_conflict"]

    /// One clean image of class `k` (0..<10).
    public static func scene(class k: Int, size: Int = 32, rng: inout RNG) -> FloatImage {
        let hues: [(Float, Float, Float)] = [(0.90, 0.10, 0.29), (0.24, 0.71, 0.29), (1.00, 0.88, 0.10), (0.00, 0.51, 0.78),
                                             (0.96, 0.51, 0.19), (0.57, 0.12, 0.71), (0.27, 0.94, 0.94), (0.94, 0.20, 0.90),
                                             (0.82, 0.96, 0.24), (0.50, 0.50, 0.00)]
        var img = FloatImage(width: size, height: size)
        // Background: grey-ish base colour plus three broad blobs of random sign.
        let base = rng.uniform(0.25, 0.7)
        let tint = (rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08))
        var blobs: [(x: Float, y: Float, s: Float, a: Float)] = []
        for _ in 0..<3 {
            blobs.append((rng.uniform(0, Float(size)), rng.uniform(0, Float(size)), rng.uniform(5, 12), rng.uniform(-0.3, 0.3)))
        }
        let hue = hues[k % hues.count]
        let col = (min(1, max(0, hue.0 + rng.uniform(-0.08, 0.08))), min(1, max(0, hue.1 + rng.uniform(-0.08, 0.08))),
                   min(1, max(0, hue.2 + rng.uniform(-0.08, 0.08))))
        let cx = rng.uniform(9, Float(size) - 9), cy = rng.uniform(9, Float(size) - 9), r = rng.uniform(5, 9)
        let square = rng.int(2) == 1
        for y in 0..<size {
            for x in 0..<size {
                var v = base
                for b in blobs {
                    let dx = Float(x) - b.x, dy = Float(y) - b.y
                    v += b.a * Float(cExp(Double(-(dx * dx + dy * dy) / (2 * b.s * b.s))))
                }
                let dx = Float(x) + 0.5 - cx, dy = Float(y) + 0.5 - cy
                let inside = square ? max(abs(dx), abs(dy)) <= r : dx * dx + dy * dy <= r * r
                let o = (y * size + x) * 3
                let px = inside ? [col.0, col.1, col.2] : [v + tint.0, v + tint.1, v + tint.2]
                for c in 0..<3 { img.pixels[o + c] = px[c] + 0.015 * rng.normal() }
            }
        }
        img.clip()
        return img
    }

    /// Writes root/train/<class>/*, root/test/<class>/*, root/metadata.csv and root/truth.csv;
    /// returns the planted problems (truth.csv's rows).
    @discardableResult
    public static func write(root: String, trainCount: Int, testCount: Int, rates: PlantRates = .init(),
                             seed: UInt64 = 11) throws -> [PlantedProblem] {
        let names = cifar10ClassNames
        var rng = RNG(seed: seed)
        var problems: [PlantedProblem] = []
        var metadata = "path,meta\n"
        for split in ["train", "test"] { for n in names { try FileIO.makeDirectory(joinPath(joinPath(root, split), n)) } }

        // Disjoint blocks of a shuffled order pick the planted training images.
        var order = Array(0..<trainCount)
        rng.shuffle(&order)
        var kind = [String?](repeating: nil, count: trainCount)
        var next = 0
        for (name, rate) in [("mislabeled", rates.mislabeled), ("blurred", rates.blurred), ("noisy", rates.noisy),
                             ("metadata_conflict", rates.metadataConflict)] {
            let n = min(Int((rate * Double(trainCount)).rounded()), trainCount - next)
            for j in next..<(next + n) { kind[order[j]] = name }
            next += n
        }
        // Originals of the copies come from the clean images.
        let clean = order[next...].sorted()
        let exactCopies = min(Int((rates.duplicates * Double(trainCount)).rounded()), clean.count / 2)
        let nearCopies = min(Int((rates.nearDuplicates * Double(trainCount)).rounded()), clean.count / 2)
        var copyOf: [Int: String] = [:]   // original index -> "duplicate" / "near_duplicate"
        var picks = clean
        rng.shuffle(&picks)
        for j in 0..<exactCopies { copyOf[picks[j]] = "duplicate" }
        for j in exactCopies..<(exactCopies + nearCopies) { copyOf[picks[j]] = "near_duplicate" }

        for (split, count) in [("train", trainCount), ("test", testCount)] {
            for i in 0..<count {
                let k = i % names.count
                var img = scene(class: k, rng: &rng)
                var folder = k, claim = k
                let planted = split == "train" ? kind[i] : nil
                switch planted {
                case "mislabeled":
                    folder = (k + 1 + rng.int(names.count - 1)) % names.count
                case "blurred":
                    img = try Corruption.gaussianBlur(sigma: 1.5).apply(img, rng: &rng)
                case "noisy":
                    img = try Corruption.gaussianNoise(sigma: 0.1).apply(img, rng: &rng)
                case "metadata_conflict":
                    claim = (k + 1 + rng.int(names.count - 1)) % names.count
                default: break
                }
                // Every third image is a JPEG, so that both decoders see use.
                let jpeg = i % 3 == 1
                let rel = "\(split)/\(names[folder])/\(i).\(jpeg ? "jpg" : "png")"
                let bytes = jpeg ? try ImageCodec.encodeJPEG(img.rgb, quality: 95) : try ImageCodec.encodePNG(img.rgb)
                try FileIO.writeAtomically(joinPath(root, rel), bytes: bytes)
                metadata += "\(rel),\(names[claim])\n"
                switch planted {
                case "mislabeled": problems.append(PlantedProblem(path: rel, problem: "mislabeled", detail: "true=\(names[k])"))
                case "metadata_conflict":
                    problems.append(PlantedProblem(path: rel, problem: "metadata_conflict", detail: "claim=\(names[claim]) true=\(names[k])"))
                case let p?: problems.append(PlantedProblem(path: rel, problem: p, detail: ""))
                case nil: break
                }
                if split == "train", let c = copyOf[i] {
                    let copy = "train/\(names[folder])/\(i)-copy.\(c == "duplicate" && jpeg ? "jpg" : "png")"
                    // A near copy: contrast and brightness edited (x 0.9 + 0.03, which never
                    // clips), as an edited re-export would be; lossless, so that it is not also
                    // smoothed (a JPEG at quality 90 of these images measured as blurred).
                    // Edited from the file as written (a JPEG original's compression included).
                    var near = FloatImage(try ImageCodec.decode(bytes, source: rel))
                    for j in near.pixels.indices { near.pixels[j] = near.pixels[j] * 0.9 + 0.03 }
                    near.clip()
                    try FileIO.writeAtomically(joinPath(root, copy), bytes: c == "duplicate" ? bytes : try ImageCodec.encodePNG(near.rgb))
                    metadata += "\(copy),\(names[claim])\n"
                    problems.append(PlantedProblem(path: copy, problem: c, detail: "of=\(rel)"))
                }
            }
        }
        try FileIO.writeAtomically(joinPath(root, "metadata.csv"), text: metadata)
        var truth = "path,problem,detail\n"
        for p in problems { truth += "\(p.path),\(p.problem),\(p.detail)\n" }
        try FileIO.writeAtomically(joinPath(root, "truth.csv"), text: truth)
        return problems
    }
}
