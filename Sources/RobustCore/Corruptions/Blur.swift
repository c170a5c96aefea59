// Blur corruptions (CIFAR-10-C's blur family), each following the library call the
// generator made, so that a severity here means what it means in the published benchmark.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension FloatImage {
    /// Defocus: correlation with an anti-aliased disk (cv2.filter2D, border REFLECT_101).
    /// The disk: 1 where x^2 + y^2 <= radius^2 on a 17 x 17 grid (radius <= 8), normalized,
    /// then smoothed by a 3 x 3 Gaussian of sigma `aliasBlur` (cv2.GaussianBlur).
    public func defocusBlurred(radius: Double, aliasBlur: Double) -> FloatImage {
        let (kernel, size) = FloatImage.disk(radius: radius, aliasBlur: aliasBlur)
        return mapPlanes { Filters.correlate2D($0, width: width, height: height, kernel: kernel, size: size, mode: .mirror) }
    }

    static func disk(radius: Double, aliasBlur: Double) -> ([Float], Int) {
        let half = radius <= 8 ? 8 : Int(radius)
        let ksize = radius <= 8 ? 3 : 5
        let n = 2 * half + 1
        var d = [Float](repeating: 0, count: n * n)
        for y in 0..<n { for x in 0..<n {
            let dx = Double(x - half), dy = Double(y - half)
            d[y * n + x] = dx * dx + dy * dy <= radius * radius ? 1 : 0
        } }
        let total = d.reduce(0, +)
        d = d.map { $0 / total }
        // cv2.getGaussianKernel(ksize, sigma): exp(-(i - (ksize-1)/2)^2 / (2 sigma^2)), normalized.
        var g = (0..<ksize).map { i -> Double in
            let t = Double(i - (ksize - 1) / 2)
            return exp(-t * t / (2 * aliasBlur * aliasBlur))
        }
        let gs = g.reduce(0, +)
        g = g.map { $0 / gs }
        let k = g.map(Float.init)
        let rows = Filters.correlate1D(d, width: n, height: n, kernel: k, alongRows: true, mode: .mirror)
        return (Filters.correlate1D(rows, width: n, height: n, kernel: k, alongRows: false, mode: .mirror), n)
    }

    /// Glass: blur, shift pixels locally, blur again. `shift()` draws an offset in
    /// -maxDelta ..< maxDelta (numpy's randint), first dx, then dy, per visited pixel.
    /// The generator's "swap" `x[h, w], x[h', w'] = x[h', w'], x[h, w]` acts on numpy views,
    /// so it only copies x[h', w'] into x[h, w]; CIFAR-10-C was made that way and so is this.
    /// The first blur is truncated to 8 bits, as the generator's np.uint8 did.
    public func glassBlurred(sigma: Double, maxDelta: Int, iterations: Int, shift: () -> Int) -> FloatImage {
        var x = gaussianBlurred(sigma: sigma)
        for i in x.pixels.indices { x.pixels[i] = (x.pixels[i] * 255).rounded(.down) }
        for _ in 0..<iterations {
            for h in stride(from: height - maxDelta, to: maxDelta, by: -1) {
                for w in stride(from: width - maxDelta, to: maxDelta, by: -1) {
                    let dx = shift(), dy = shift()
                    let hp = h + dy, wp = w + dx
                    guard hp >= 0, hp < height, wp >= 0, wp < width else { continue }
                    for c in 0..<3 { x[h, w, c] = x[hp, wp, c] }
                }
            }
        }
        for i in x.pixels.indices { x.pixels[i] /= 255 }
        var out = x.gaussianBlurred(sigma: sigma)
        out.clip()
        return out
    }

    /// Motion: ImageMagick's MotionBlurImage(radius, sigma, angle), the one-sided blur the
    /// generator called through Wand: 2 ceil(radius) + 1 taps with half-Gaussian weights
    /// exp(-i^2 / 2 sigma^2), tap i at the pixel offset round(i cos a, i sin a) (x right,
    /// y down), the edge pixel repeated outside the image.
    public func motionBlurred(radius: Double, sigma: Double, angleDegrees: Double) -> FloatImage {
        let taps = Int(2 * ceil(radius) + 1)
        var k = (0..<taps).map { i in exp(-Double(i * i) / (2 * sigma * sigma)) }
        let s = k.reduce(0, +)
        k = k.map { $0 / s }
        let a = angleDegrees * Double.pi / 180
        // ImageMagick's (long)(v + 0.5): truncation toward zero after adding one half.
        let ox = (0..<taps).map { Int(Double($0) * cos(a) + 0.5) }
        let oy = (0..<taps).map { Int(Double($0) * sin(a) + 0.5) }
        var out = self
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    var acc = 0.0
                    for i in 0..<taps {
                        let sx = min(max(x + ox[i], 0), width - 1), sy = min(max(y + oy[i], 0), height - 1)
                        acc += k[i] * Double(self[sy, sx, c])
                    }
                    out[y, x, c] = Float(min(max(acc, 0), 1))
                }
            }
        }
        return out
    }

    /// Zoom: the mean of the image and its central crops enlarged by each factor
    /// (scipy.ndimage.zoom with linear interpolation, then the center cut back out).
    public func zoomBlurred(factors: [Double]) -> FloatImage {
        var acc = pixels.map(Double.init)
        for z in factors {
            let zoomed = clippedZoom(z)
            for i in acc.indices { acc[i] += Double(zoomed.pixels[i]) }
        }
        var out = self
        for i in out.pixels.indices { out.pixels[i] = min(max(Float(acc[i] / Double(factors.count + 1)), 0), 1) }
        return out
    }

    /// The central 1/z of the image enlarged z times and cropped to the image's size.
    func clippedZoom(_ z: Double) -> FloatImage {
        let ch = Int(ceil(Double(height) / z)), cw = Int(ceil(Double(width) / z))
        let top = (height - ch) / 2, left = (width - cw) / 2
        // scipy: output size round(in * z) (ties to even, as Python's round), and output
        // sample o reads input coordinate o * (in - 1) / (out - 1).
        let oh = Int((Double(ch) * z).rounded(.toNearestOrEven)), ow = Int((Double(cw) * z).rounded(.toNearestOrEven))
        let sy = oh > 1 ? Double(ch - 1) / Double(oh - 1) : 0, sx = ow > 1 ? Double(cw - 1) / Double(ow - 1) : 0
        let trimTop = (oh - height) / 2, trimLeft = (ow - width) / 2
        var out = FloatImage(width: width, height: height)
        for y in 0..<height {
            let r = Double(y + trimTop) * sy
            let y0 = min(Int(r), ch - 1), y1 = min(y0 + 1, ch - 1), ty = r - Double(y0)
            for x in 0..<width {
                let q = Double(x + trimLeft) * sx
                let x0 = min(Int(q), cw - 1), x1 = min(x0 + 1, cw - 1), tx = q - Double(x0)
                for c in 0..<3 {
                    let a = Double(self[top + y0, left + x0, c]), b = Double(self[top + y0, left + x1, c])
                    let d = Double(self[top + y1, left + x0, c]), e = Double(self[top + y1, left + x1, c])
                    out[y, x, c] = Float((a * (1 - tx) + b * tx) * (1 - ty) + (d * (1 - tx) + e * tx) * ty)
                }
            }
        }
        return out
    }
}
