// Corrupting a whole dataset: every image gets its own random stream, derived from the
// seed, the corruption's name and the image's index, so the result is the same whatever
// the thread count or the order the images are visited in.

extension Dataset {
    /// This dataset with `corruption` applied to every image (clipped, rounded to 8 bits).
    public func corrupted(by corruption: Corruption, seed: UInt64) throws -> Dataset {
        var out = self
        let n = count, bytes = imageBytes, h = height, w = width
        var tag: UInt64 = 0xcbf2_9ce4_8422_2325   // FNV-1a of the corruption's name
        for b in corruption.description.utf8 { tag = (tag ^ UInt64(b)) &* 0x100_0000_01b3 }
        let base = RNG.derived(seed: seed, tag).state
        nonisolated(unsafe) var failure: Error?
        let src = pixels
        try out.pixels.withUnsafeMutableBufferPointer { dst in
            nonisolated(unsafe) let d = dst.baseAddress!
            parallelChunks(n, minChunk: 16) { r in
                for i in r {
                    var rng = RNG.derived(seed: base, UInt64(i))
                    let img = FloatImage(RGBImage(width: w, height: h, pixels: Array(src[i * bytes ..< (i + 1) * bytes])))
                    do {
                        let c = try corruption.apply(img, rng: &rng)
                        for j in 0..<bytes { d[i * bytes + j] = FloatImage.byte(c.pixels[j]) }
                    } catch { failure = error }
                }
            }
            if let failure { throw failure }
        }
        return out
    }
}
