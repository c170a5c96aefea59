// RGB <-> HSV on [0, 1] values, as skimage.color.rgb2hsv / hsv2rgb compute them (hue in
// [0, 1); for ties in the largest channel blue wins over green over red), in Double.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum HSV {
    static func fromRGB(_ r: Double, _ g: Double, _ b: Double) -> (h: Double, s: Double, v: Double) {
        let v = max(r, g, b), delta = v - min(r, g, b)
        guard delta != 0 else { return (0, 0, v) }
        let s = delta / v
        var h: Double
        if b == v { h = 4 + (r - g) / delta }
        else if g == v { h = 2 + (b - r) / delta }
        else { h = (g - b) / delta }
        h /= 6
        h -= floor(h)  // Python's % 1.0: always in [0, 1)
        return (h, s, v)
    }

    static func toRGB(_ h: Double, _ s: Double, _ v: Double) -> (Double, Double, Double) {
        let hi6 = floor(h * 6), f = h * 6 - hi6
        let p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s)
        var sector = Int(hi6) % 6
        if sector < 0 { sector += 6 }
        switch sector {
        case 0: return (v, t, p)
        case 1: return (q, v, p)
        case 2: return (p, v, t)
        case 3: return (p, q, v)
        case 4: return (t, p, v)
        default: return (v, p, q)
        }
    }
}

extension FloatImage {
    /// Maps every pixel through HSV space.
    func mappingHSV(_ f: (inout Double, inout Double, inout Double) -> Void) -> FloatImage {
        var out = self
        for i in 0..<(width * height) {
            var (h, s, v) = HSV.fromRGB(Double(pixels[3 * i]), Double(pixels[3 * i + 1]), Double(pixels[3 * i + 2]))
            f(&h, &s, &v)
            let (r, g, b) = HSV.toRGB(h, s, v)
            out.pixels[3 * i] = Float(r); out.pixels[3 * i + 1] = Float(g); out.pixels[3 * i + 2] = Float(b)
        }
        return out
    }
}
