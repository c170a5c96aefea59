// Elastic transform: a small random affine warp, then a smooth random displacement field.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The random draws of one elastic transform: the three control points' jitter (x, y
/// pairs, each U(-affine, affine)) and two U(-1, 1) fields, height x width, that become the
/// column and row displacements.
public struct ElasticDraws: Sendable {
    public var jitter: [Double]      // 6 values
    public var fieldX: [Double], fieldY: [Double]

    public init(jitter: [Double], fieldX: [Double], fieldY: [Double]) {
        self.jitter = jitter; self.fieldX = fieldX; self.fieldY = fieldY
    }

    static func draw(width: Int, height: Int, affine: Double, rng: inout RNG) -> ElasticDraws {
        let j = (0..<6).map { _ in affine * (2 * rng.uniformDouble() - 1) }
        let fx = (0..<(width * height)).map { _ in 2 * rng.uniformDouble() - 1 }
        let fy = (0..<(width * height)).map { _ in 2 * rng.uniformDouble() - 1 }
        return ElasticDraws(jitter: j, fieldX: fx, fieldY: fy)
    }
}

extension FloatImage {
    /// CIFAR-10-C's elastic transform with displacement scale `alpha`, smoothing `sigma`
    /// (pixels) and the draws. Step 1, as cv2.getAffineTransform + cv2.warpAffine: three
    /// points around the center (center +- size/3) move by the jitter, the affine map that
    /// moves them warps the image (bilinear, border REFLECT_101; OpenCV 5 samples float images
    /// at exact positions, not on its 1/32-pixel grid: the fixture agrees to 1e-6). Step 2, as scipy: each field smoothed by a Gaussian (sigma, truncate 3,
    /// border "reflect") times alpha displaces the sampling position, read back bilinearly
    /// (map_coordinates order 1, border "reflect").
    public func elasticTransformed(alpha: Double, sigma: Double, draws: ElasticDraws) -> FloatImage {
        let cy = Double(height / 2), cx = Double(width / 2), sq = Double(min(width, height) / 3)
        // Points as the generator lists them: (a, b) pairs of center_square = (h//2, w//2),
        // which OpenCV reads as (x, y).
        let src: [(Double, Double)] = [(cy + sq, cx + sq), (cy + sq, cx - sq), (cy - sq, cx - sq)]
        // The generator adds float32 jitter to float32 points.
        var dst: [(Double, Double)] = []
        for i in 0..<3 {
            let a: Float = Float(src[i].0) + Float(draws.jitter[2 * i])
            let b: Float = Float(src[i].1) + Float(draws.jitter[2 * i + 1])
            dst.append((Double(a), Double(b)))
        }
        guard let forward = affineFromPoints(src, dst), let inverse = invertAffine(forward) else { return self }
        var warped = self
        let planes = (0..<3).map { plane($0) }
        for y in 0..<height {
            for x in 0..<width {
                // OpenCV samples dst(x, y) at M^-1 (x, y).
                let fx = Double(x), fy = Double(y)
                let sx: Double = inverse[0] * fx + inverse[1] * fy + inverse[2]
                let sy: Double = inverse[3] * fx + inverse[4] * fy + inverse[5]
                for c in 0..<3 {
                    warped[y, x, c] = Filters.bilinear(planes[c], width: width, height: height, row: sy, col: sx, mode: .mirror)
                }
            }
        }
        let dx = Filters.gaussian(draws.fieldX.map(Float.init), width: width, height: height, sigma: sigma, mode: .reflect, truncate: 3)
        let dy = Filters.gaussian(draws.fieldY.map(Float.init), width: width, height: height, sigma: sigma, mode: .reflect, truncate: 3)
        let wp = (0..<3).map { warped.plane($0) }
        var out = warped
        for y in 0..<height {
            for x in 0..<width {
                let i = y * width + x
                let shiftY: Float = Float(Double(dy[i]) * alpha), shiftX: Float = Float(Double(dx[i]) * alpha)
                let row: Double = Double(y) + Double(shiftY), col: Double = Double(x) + Double(shiftX)
                for c in 0..<3 {
                    out[y, x, c] = min(max(Filters.bilinear(wp[c], width: width, height: height, row: row, col: col, mode: .reflect), 0), 1)
                }
            }
        }
        return out
    }
}

/// The 2 x 3 affine map (row-major) taking three points to three others, or nil when the
/// points are collinear.
func affineFromPoints(_ s: [(Double, Double)], _ d: [(Double, Double)]) -> [Double]? {
    // Solve [x y 1] * (a b c)^T = u for each output coordinate, by Cramer's rule.
    let det = s[0].0 * (s[1].1 - s[2].1) - s[0].1 * (s[1].0 - s[2].0) + (s[1].0 * s[2].1 - s[2].0 * s[1].1)
    guard abs(det) > 1e-12 else { return nil }
    func solve(_ u: [Double]) -> (Double, Double, Double) {
        let a = (u[0] * (s[1].1 - s[2].1) - s[0].1 * (u[1] - u[2]) + (u[1] * s[2].1 - u[2] * s[1].1)) / det
        let b = (s[0].0 * (u[1] - u[2]) - u[0] * (s[1].0 - s[2].0) + (s[1].0 * u[2] - s[2].0 * u[1])) / det
        let c = (s[0].0 * (s[1].1 * u[2] - s[2].1 * u[1]) - s[0].1 * (s[1].0 * u[2] - s[2].0 * u[1]) + u[0] * (s[1].0 * s[2].1 - s[2].0 * s[1].1)) / det
        return (a, b, c)
    }
    let (a, b, c) = solve([d[0].0, d[1].0, d[2].0])
    let (e, f, g) = solve([d[0].1, d[1].1, d[2].1])
    return [a, b, c, e, f, g]
}

func invertAffine(_ m: [Double]) -> [Double]? {
    let det = m[0] * m[4] - m[1] * m[3]
    guard abs(det) > 1e-12 else { return nil }
    let a = m[4] / det, b = -m[1] / det, d = -m[3] / det, e = m[0] / det
    return [a, b, -(a * m[2] + b * m[5]), d, e, -(d * m[2] + e * m[5])]
}
