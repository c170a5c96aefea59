// Image resizing with a triangle (bilinear) or box filter whose support widens with the
// downscaling factor, so shrinking averages every source pixel instead of sampling a few
// (no aliasing). This is Pillow's Image.resize(..., BILINEAR or BOX) step for step: the same
// filter windows, 22-bit fixed-point weights, horizontal pass first with its result rounded
// to 8 bits, then the vertical pass. Results match Pillow exactly (tests check fixtures).

/// The resampling filter (Pillow's names).
public enum ResampleFilter: Sendable {
    /// Triangle of support 1: the default for loading images.
    case bilinear
    /// Box of support 1/2: each output pixel the mean of the input pixels it covers
    /// (CIFAR-10-C's pixelate).
    case box
}

extension ImageCodec {
    /// Resizes 8-bit RGB to width x height (both > 0).
    public static func resize(_ img: RGBImage, width: Int, height: Int, filter: ResampleFilter = .bilinear) -> RGBImage {
        precondition(width > 0 && height > 0 && img.width > 0 && img.height > 0)
        if img.width == width && img.height == height { return img }
        var cur = img
        if cur.width != width {
            let c = ResampleCoefficients(input: cur.width, output: width, filter: filter)
            var out = [UInt8](repeating: 0, count: width * cur.height * 3)
            for y in 0..<cur.height {
                for x in 0..<width {
                    for ch in 0..<3 {
                        out[(y * width + x) * 3 + ch] = c.apply(x) { cur.pixels[(y * cur.width + $0) * 3 + ch] }
                    }
                }
            }
            cur = RGBImage(width: width, height: cur.height, pixels: out)
        }
        if cur.height != height {
            let c = ResampleCoefficients(input: cur.height, output: height, filter: filter)
            var out = [UInt8](repeating: 0, count: width * height * 3)
            for y in 0..<height {
                for x in 0..<width {
                    for ch in 0..<3 {
                        out[(y * width + x) * 3 + ch] = c.apply(y) { cur.pixels[($0 * width + x) * 3 + ch] }
                    }
                }
            }
            cur = RGBImage(width: width, height: height, pixels: out)
        }
        return cur
    }
}

/// Per output position: the first source index and fixed-point weights of its window.
struct ResampleCoefficients {
    static let precisionBits = 22
    var start: [Int] = []
    var weights: [[Int32]] = []

    init(input: Int, output: Int, filter: ResampleFilter = .bilinear) {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = (filter == .box ? 0.5 : 1.0) * filterScale
        for o in 0..<output {
            let center = (Double(o) + 0.5) * scale
            let lo = max(Int(center - support + 0.5), 0)
            let hi = min(Int(center + support + 0.5), input)
            var k = (lo..<hi).map { i -> Double in
                let t = (Double(i) - center + 0.5) / filterScale
                switch filter {
                case .bilinear: return abs(t) < 1 ? 1 - abs(t) : 0
                case .box: return t > -0.5 && t <= 0.5 ? 1 : 0
                }
            }
            let sum = k.reduce(0, +)
            if sum != 0 { k = k.map { $0 / sum } }
            let one = Double(1 << ResampleCoefficients.precisionBits)
            start.append(lo)
            weights.append(k.map { v in Int32(v < 0 ? (-0.5 + v * one).rounded(.towardZero) : (0.5 + v * one).rounded(.towardZero)) })
        }
    }

    @inline(__always)
    func apply(_ o: Int, _ pixel: (Int) -> UInt8) -> UInt8 {
        var acc = Int64(1 << (ResampleCoefficients.precisionBits - 1))
        let s = start[o]
        for (j, w) in weights[o].enumerated() { acc += Int64(pixel(s + j)) * Int64(w) }
        let v = acc >> Int64(ResampleCoefficients.precisionBits)
        return UInt8(clamping: v)
    }
}
