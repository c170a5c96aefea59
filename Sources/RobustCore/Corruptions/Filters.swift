// Linear filters and resampling on float planes, with the border rules of the libraries
// the CIFAR-10-C generator used (scipy.ndimage, OpenCV), named after them so each use says
// which one it follows.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a filter reads outside the image (n samples; scipy.ndimage's names).
public enum BorderMode: Sendable {
    /// Repeat the edge sample: a a | a b c d | d d (scipy "nearest", OpenCV REPLICATE).
    case nearest
    /// Mirror about the edge, edge repeated: b a | a b c d | d c (scipy "reflect", OpenCV REFLECT).
    case reflect
    /// Mirror about the edge sample: c b | a b c d | c b (scipy "mirror", OpenCV REFLECT_101).
    case mirror

    @inline(__always) func index(_ i: Int, _ n: Int) -> Int {
        if i >= 0 && i < n { return i }
        switch self {
        case .nearest: return i < 0 ? 0 : n - 1
        case .reflect:
            let period = 2 * n
            var j = i % period
            if j < 0 { j += period }
            return j < n ? j : period - 1 - j
        case .mirror:
            if n == 1 { return 0 }
            let period = 2 * n - 2
            var j = i % period
            if j < 0 { j += period }
            return j < n ? j : period - j
        }
    }
}

enum Filters {
    /// scipy.ndimage's 1-D Gaussian weights: radius int(truncate * sigma + 0.5), exp(-x^2 / 2 sigma^2), summing to 1.
    static func gaussianKernel(sigma: Double, truncate: Double = 4) -> [Float] {
        let radius = Int(truncate * sigma + 0.5)
        var k = (-radius...radius).map { x in exp(-0.5 * Double(x * x) / (sigma * sigma)) }
        let s = k.reduce(0, +)
        k = k.map { $0 / s }
        return k.map(Float.init)
    }

    /// Correlates each row (axis 1) or column (axis 0) of a height x width plane with a
    /// centered 1-D kernel. Sums in Double, as scipy does.
    static func correlate1D(_ p: [Float], width: Int, height: Int, kernel: [Float], alongRows: Bool, mode: BorderMode) -> [Float] {
        let r = kernel.count / 2
        var out = [Float](repeating: 0, count: p.count)
        for y in 0..<height {
            for x in 0..<width {
                var acc = 0.0
                for (j, w) in kernel.enumerated() {
                    let v = alongRows ? p[y * width + mode.index(x + j - r, width)]
                                      : p[mode.index(y + j - r, height) * width + x]
                    acc += Double(w) * Double(v)
                }
                out[y * width + x] = Float(acc)
            }
        }
        return out
    }

    /// scipy.ndimage.gaussian_filter over the two spatial axes (skimage.filters.gaussian);
    /// sigma 0 leaves the plane as it is, as scipy skips such axes.
    static func gaussian(_ p: [Float], width: Int, height: Int, sigma: Double, mode: BorderMode, truncate: Double = 4) -> [Float] {
        guard sigma > 1e-15 else { return p }
        let k = gaussianKernel(sigma: sigma, truncate: truncate)
        // scipy filters the axes in order: rows of the array (axis 0) first, then columns.
        let a = correlate1D(p, width: width, height: height, kernel: k, alongRows: false, mode: mode)
        return correlate1D(a, width: width, height: height, kernel: k, alongRows: true, mode: mode)
    }

    /// A 2-D correlation with a (2r+1) x (2r+1) kernel, as cv2.filter2D (default border REFLECT_101).
    /// Zero taps are skipped: defocus's 17 x 17 disk has at most 5 x 5 nonzero ones at
    /// CIFAR-10-C's radii, which makes it 10 times faster and changes no sum.
    static func correlate2D(_ p: [Float], width: Int, height: Int, kernel: [Float], size: Int, mode: BorderMode) -> [Float] {
        let r = size / 2
        let taps = (0..<(size * size)).filter { kernel[$0] != 0 }.map { (dy: $0 / size - r, dx: $0 % size - r, w: kernel[$0]) }
        var out = [Float](repeating: 0, count: p.count)
        for y in 0..<height {
            for x in 0..<width {
                var acc: Float = 0
                for t in taps { acc += t.w * p[mode.index(y + t.dy, height) * width + mode.index(x + t.dx, width)] }
                out[y * width + x] = acc
            }
        }
        return out
    }

    /// Linear interpolation of a plane at (row, col), neighbors read through `mode`
    /// (scipy.ndimage.map_coordinates with order 1).
    @inline(__always)
    static func bilinear(_ p: [Float], width: Int, height: Int, row: Double, col: Double, mode: BorderMode) -> Float {
        let y0 = Int(floor(row)), x0 = Int(floor(col))
        let ty = Float(row - Double(y0)), tx = Float(col - Double(x0))
        let ya = mode.index(y0, height), yb = mode.index(y0 + 1, height)
        let xa = mode.index(x0, width), xb = mode.index(x0 + 1, width)
        let top = p[ya * width + xa] * (1 - tx) + p[ya * width + xb] * tx
        let bottom = p[yb * width + xa] * (1 - tx) + p[yb * width + xb] * tx
        return top * (1 - ty) + bottom * ty
    }
}

extension FloatImage {
    /// Applies a plane filter to each channel.
    func mapPlanes(_ f: ([Float]) -> [Float]) -> FloatImage {
        var out = self
        for c in 0..<3 { out.setPlane(c, f(plane(c))) }
        return out
    }

    /// skimage.filters.gaussian(x, sigma, channel_axis=-1): scipy's filter, border "nearest", truncate 4.
    public func gaussianBlurred(sigma: Double, mode: BorderMode = .nearest, truncate: Double = 4) -> FloatImage {
        mapPlanes { Filters.gaussian($0, width: width, height: height, sigma: sigma, mode: mode, truncate: truncate) }
    }
}
