// Fourier-basis sensitivity (Yin et al. 2019, "A Fourier perspective on model robustness"):
// the error rate when one Fourier basis pattern of fixed L2 norm is added to every image,
// for every spatial frequency. Low frequencies are structure (shape, layout), high ones
// texture and noise: the map says which the model's decisions depend on.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum FourierSensitivity {
    /// The real Fourier basis image of frequency (u, v) (cycles per image, rows then columns),
    /// height x width, of unit L2 norm: cos(2 pi (u y / h + v x / w)), whose 2-D DFT is
    /// nonzero only at (u, v) and (-u, -v).
    public static func basis(u: Int, v: Int, height h: Int, width w: Int) -> [Float] {
        var b = [Double](repeating: 0, count: h * w)
        for y in 0..<h { for x in 0..<w {
            b[y * w + x] = cos(2 * Double.pi * (Double(u * y) / Double(h) + Double(v * x) / Double(w)))
        } }
        let norm = b.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return b.map { Float($0 / norm) }
    }

    /// `data` with eps * r * basis added to each channel of each image (r = +-1 at random,
    /// per image and channel, as in the paper), clipped and rounded to 8 bits.
    public static func perturbed(_ data: Dataset, u: Int, v: Int, eps: Double, seed: UInt64) -> Dataset {
        let h = data.height, w = data.width, bytes = data.imageBytes
        let b = basis(u: u, v: v, height: h, width: w).map { $0 * Float(eps) }
        var out = data
        let src = data.pixels
        out.pixels.withUnsafeMutableBufferPointer { dst in
            nonisolated(unsafe) let d = dst.baseAddress!
            parallelChunks(data.count, minChunk: 32) { r in
                for i in r {
                    var rng = RNG.derived(seed: seed, UInt64(i))
                    let sign: [Float] = (0..<3).map { _ in rng.next() & 1 == 0 ? -1 : 1 }
                    for p in 0..<(h * w) { for c in 0..<3 {
                        let k = i * bytes + p * 3 + c
                        let v = Float(src[k]) / 255 + sign[c] * b[p]
                        d[k] = FloatImage.byte(v)
                    } }
                }
            }
        }
        return out
    }

    /// Frequencies to evaluate for an h x w image: u in -h/2 ..< h/2 (rows), v likewise; each
    /// pair with its mirror (-u, -v) is evaluated once (the basis is the same image).
    public static func frequencies(height h: Int, width w: Int) -> [(Int, Int)] {
        var seen = Set<Int>(), out: [(Int, Int)] = []
        func wrap(_ a: Int, _ n: Int) -> Int { ((a + n / 2) % n + n) % n - n / 2 }
        for u in (-h / 2)..<(h - h / 2) { for v in (-w / 2)..<(w - w / 2) {
            let key = wrap(u, h) * 100_000 + wrap(v, w), mirror = wrap(-u, h) * 100_000 + wrap(-v, w)
            if seen.contains(key) || seen.contains(mirror) { continue }
            seen.insert(key)
            out.append((u, v))
        } }
        return out
    }
}
