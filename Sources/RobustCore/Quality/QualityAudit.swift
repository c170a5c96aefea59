// The quality audit of a whole dataset: every image's measures and flags, plus exact and
// near-duplicate detection across the set.

public struct QualityReport: Sendable {
    public var measures: [ImageQuality]
    public var flags: [QualityFlags]
    /// For a duplicate or near-duplicate: the earlier image it repeats.
    public var duplicateOf: [DuplicateMatch?]

    public init(measures: [ImageQuality], flags: [QualityFlags], duplicateOf: [DuplicateMatch?]) {
        self.measures = measures; self.flags = flags; self.duplicateOf = duplicateOf
    }

    /// How many images carry each flag.
    public func counts() -> [(String, Int)] {
        QualityFlags.names.map { f, name in (name, flags.filter { $0.contains(f) }.count) }
    }
}

/// An earlier image this one repeats: exactly (identical pixels) or nearly (difference
/// hashes `bits` apart).
public struct DuplicateMatch: Sendable, Equatable {
    public var index: Int
    public var bits: Int
    public var exact: Bool
}

public enum QualityAudit {
    /// Every image's measures (in parallel; the result does not depend on the thread count).
    public static func measure(_ ds: Dataset) -> [ImageQuality] {
        let n = ds.count, bytes = ds.imageBytes, w = ds.width, h = ds.height
        var out = [ImageQuality](repeating: ImageQuality(detail: 0, sharpness: 0, brightness: 0, contrast: 0, entropy: 0, hash: 0), count: n)
        let px = ds.pixels
        out.withUnsafeMutableBufferPointer { o in
            nonisolated(unsafe) let o = o.baseAddress!
            parallelChunks(n, minChunk: 64) { r in
                for i in r { o[i] = ImageQuality(RGBImage(width: w, height: h, pixels: Array(px[i * bytes ..< (i + 1) * bytes]))) }
            }
        }
        return out
    }

    /// Exact duplicates (identical pixels) and near-duplicates (difference hashes at most
    /// `maxBits` apart) of earlier images. Quadratic in the count (50,000 images: about a
    /// second); each image points at the first earlier match.
    /// With `minCorrelation`, a hash match counts only when the two images' pixels correlate
    /// at least that much (a brightness or contrast change is still a near-duplicate; a chance
    /// hash collision of two smooth images is not).
    public static func duplicates(_ ds: Dataset, _ measures: [ImageQuality], maxBits: Int,
                                  minCorrelation: Double? = nil) -> [DuplicateMatch?] {
        let n = ds.count, bytes = ds.imageBytes
        var contentHash = [UInt64](repeating: 0, count: n)
        ds.pixels.withUnsafeBufferPointer { p in
            for i in 0..<n {
                var hsh: UInt64 = 0xcbf2_9ce4_8422_2325
                for j in (i * bytes)..<((i + 1) * bytes) { hsh = (hsh ^ UInt64(p[j])) &* 0x100_0000_01b3 }
                contentHash[i] = hsh
            }
        }
        var firstByContent: [UInt64: Int] = [:]
        var out = [DuplicateMatch?](repeating: nil, count: n)
        for i in 0..<n {
            if let j = firstByContent[contentHash[i]], ds.pixels[(j * bytes)..<((j + 1) * bytes)] == ds.pixels[(i * bytes)..<((i + 1) * bytes)] {
                out[i] = DuplicateMatch(index: j, bits: 0, exact: true)
            } else if firstByContent[contentHash[i]] == nil {
                firstByContent[contentHash[i]] = i
            }
        }
        let hashes = measures.map(\.hash)
        var near = [Int](repeating: -1, count: n), nearBits = [Int](repeating: 0, count: n)
        hashes.withUnsafeBufferPointer { hp in
            nonisolated(unsafe) let hp = hp.baseAddress!
            near.withUnsafeMutableBufferPointer { np in
                nearBits.withUnsafeMutableBufferPointer { bp in
                    nonisolated(unsafe) let np = np.baseAddress!, bp = bp.baseAddress!
                    parallelChunks(n, minChunk: 256) { r in
                        for i in r {
                            let hi = hp[i]
                            for j in 0..<i {
                                let d = (hi ^ hp[j]).nonzeroBitCount
                                if d <= maxBits && (minCorrelation.map { pixelCorrelation(ds, i, j) >= $0 } ?? true) {
                                    np[i] = j; bp[i] = d; break
                                }
                            }
                        }
                    }
                }
            }
        }
        for i in 0..<n where out[i] == nil && near[i] >= 0 { out[i] = DuplicateMatch(index: near[i], bits: nearBits[i], exact: false) }
        return out
    }

    /// Pearson correlation of images i and j's pixel values, the three channels together
    /// (two flat images: 1 when their levels are within 4, else 0). Over RGB rather than luminance: two smooth images with an
    /// object in the same place correlate in luminance even when the objects' colours differ.
    static func pixelCorrelation(_ ds: Dataset, _ i: Int, _ j: Int) -> Double {
        let n = ds.imageBytes
        return ds.pixels.withUnsafeBufferPointer { p -> Double in
            var si = 0.0, sj = 0.0, sii = 0.0, sjj = 0.0, sij = 0.0
            for k in 0..<n {
                let a = Double(p[i * n + k]), b = Double(p[j * n + k])
                si += a; sj += b; sii += a * a; sjj += b * b; sij += a * b
            }
            let m = Double(max(n, 1))
            let vi = sii - si * si / m, vj = sjj - sj * sj / m, cij = sij - si * sj / m
            // Flat images have no pattern to correlate: alike only when their levels are.
            guard vi > 1e-9 && vj > 1e-9 else { return vi <= 1e-9 && vj <= 1e-9 && abs(si - sj) / m < 4 ? 1 : 0 }
            return cij / (vi * vj).squareRoot()
        }
    }

    /// Measures, flags and duplicates of `ds` under `calibration` (with the model's
    /// prediction entropies, if any, for the uncertain flag).
    public static func run(_ ds: Dataset, calibration: QualityCalibration, modelEntropies: [Double]? = nil,
                           duplicates findDuplicates: Bool = true) -> QualityReport {
        let m = measure(ds)
        var flags = m.indices.map { calibration.flags(m[$0], modelEntropy: modelEntropies?[$0]) }
        let dup = findDuplicates ? duplicates(ds, m, maxBits: calibration.nearDuplicateBits,
                                                          minCorrelation: calibration.nearDuplicateCorrelation) : [DuplicateMatch?](repeating: nil, count: ds.count)
        for i in dup.indices { if let d = dup[i] { flags[i].insert(d.exact ? .duplicate : .nearDuplicate) } }
        return QualityReport(measures: m, flags: flags, duplicateOf: dup)
    }
}
