// The corruption catalogue: the study's two sweeps (Gaussian noise and Gaussian blur with a
// free sigma) and the CIFAR-10-C suite of Hendrycks & Dietterich (2019) at severities 1-5,
// with the parameters of their CIFAR generator (make_cifar_c.py). Snow, frost and spatter
// are not implemented yet (frost needs the benchmark's photographs; snow and spatter
// ImageMagick/OpenCV steps).

/// One of the CIFAR-10-C corruptions (raw values: the benchmark's file names).
public enum CorruptionKind: String, CaseIterable, Sendable {
    case gaussianNoise = "gaussian_noise", shotNoise = "shot_noise", impulseNoise = "impulse_noise"
    case speckleNoise = "speckle_noise"
    case gaussianBlur = "gaussian_blur", defocusBlur = "defocus_blur", glassBlur = "glass_blur"
    case motionBlur = "motion_blur", zoomBlur = "zoom_blur"
    case contrast, brightness, saturate
    case jpegCompression = "jpeg_compression", pixelate
    case fog
    case elasticTransform = "elastic_transform"

    /// noise, blur, digital or weather, as the benchmark groups them.
    public var family: String {
        switch self {
        case .gaussianNoise, .shotNoise, .impulseNoise, .speckleNoise: return "noise"
        case .gaussianBlur, .defocusBlur, .glassBlur, .motionBlur, .zoomBlur: return "blur"
        case .fog: return "weather"
        default: return "digital"
        }
    }
}

/// A corruption with its parameters fixed: apply it to an image with a random stream.
public struct Corruption: Sendable, CustomStringConvertible {
    /// "gaussian_noise:3" for a suite member, "gaussian_noise(sigma=0.08)" for a sweep point.
    public let description: String
    let body: @Sendable (FloatImage, inout RNG) throws -> FloatImage

    init(_ description: String, _ body: @escaping @Sendable (FloatImage, inout RNG) throws -> FloatImage) {
        self.description = description; self.body = body
    }

    /// The corrupted image, clipped to [0, 1].
    public func apply(_ image: FloatImage, rng: inout RNG) throws -> FloatImage {
        var out = try body(image, &rng)
        out.clip()
        return out
    }

    /// The study's texture damage: x + N(0, sigma^2) on [0, 1] pixels, clipped.
    public static func gaussianNoise(sigma: Double) -> Corruption {
        Corruption("gaussian_noise(sigma=\(sigma))") { x, rng in sigma > 0 ? x.addingGaussianNoise(sigma: Float(sigma), rng: &rng) : x }
    }

    /// The study's structure damage: a Gaussian blur of `sigma` pixels. Kernel radius
    /// int(4 sigma + 0.5) (scipy's truncate 4: 5 x 5 at sigma 0.5, 21 x 21 at 2.5), border
    /// repeating the edge pixel (skimage.filters.gaussian's default, as CIFAR-10-C uses).
    public static func gaussianBlur(sigma: Double) -> Corruption {
        Corruption("gaussian_blur(sigma=\(sigma))") { x, _ in x.gaussianBlurred(sigma: sigma) }
    }

    /// A CIFAR-10-C corruption at severity 1...5.
    public static func cifar10C(_ kind: CorruptionKind, severity: Int) throws -> Corruption {
        guard (1...5).contains(severity) else {
            throw RobustError.invalidArgument("\(kind.rawValue): severity \(severity) is not in 1...5")
        }
        let s = severity - 1
        let name = "\(kind.rawValue):\(severity)"
        switch kind {
        case .gaussianNoise:
            let c = [0.04, 0.06, 0.08, 0.09, 0.10][s]
            return Corruption(name) { x, rng in x.addingGaussianNoise(sigma: Float(c), rng: &rng) }
        case .shotNoise:
            let c = [500.0, 250, 100, 75, 50][s]
            return Corruption(name) { x, rng in x.addingShotNoise(photons: c, rng: &rng) }
        case .impulseNoise:
            let c: Float = [0.01, 0.02, 0.03, 0.05, 0.07][s]
            return Corruption(name) { x, rng in x.addingImpulseNoise(amount: c, rng: &rng) }
        case .speckleNoise:
            let c: Float = [0.06, 0.1, 0.12, 0.16, 0.2][s]
            return Corruption(name) { x, rng in x.addingSpeckleNoise(sigma: c, rng: &rng) }
        case .gaussianBlur:
            let c = [0.4, 0.6, 0.7, 0.8, 1][s]
            return Corruption(name) { x, _ in x.gaussianBlurred(sigma: c) }
        case .defocusBlur:
            let c = [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)][s]
            return Corruption(name) { x, _ in x.defocusBlurred(radius: c.0, aliasBlur: c.1) }
        case .glassBlur:
            let c = [(0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)][s]
            return Corruption(name) { x, rng in
                x.glassBlurred(sigma: c.0, maxDelta: c.1, iterations: c.2) { rng.int(2 * c.1) - c.1 }
            }
        case .motionBlur:
            let c = [(6.0, 1.0), (6, 1.5), (6, 2), (8, 2), (9, 2.5)][s]
            return Corruption(name) { x, rng in
                x.motionBlurred(radius: c.0, sigma: c.1, angleDegrees: -45 + 90 * rng.uniformDouble())
            }
        case .zoomBlur:
            // numpy's arange(1, 1.06, 0.01) etc.: 7, 12, 16, 21 and 26 factors (float rounding
            // puts the end point in the first two), each 1 + k * ((1 + 0.01) - 1) as numpy
            // fills them; the last bit matters where a crop size rounds to a half.
            let n = [7, 12, 16, 21, 26][s]
            let step = (1 + 0.01) - 1.0
            let factors = (0..<n).map { 1 + Double($0) * step }
            return Corruption(name) { x, _ in x.zoomBlurred(factors: factors) }
        case .contrast:
            let c: Float = [0.75, 0.5, 0.4, 0.3, 0.15][s]
            return Corruption(name) { x, _ in x.contrastScaled(c) }
        case .brightness:
            let c = [0.05, 0.1, 0.15, 0.2, 0.3][s]
            return Corruption(name) { x, _ in x.brightened(c) }
        case .saturate:
            let c = [(0.3, 0.0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)][s]
            return Corruption(name) { x, _ in x.saturated(scale: c.0, shift: c.1) }
        case .jpegCompression:
            let q = [80, 65, 58, 50, 40][s]
            return Corruption(name) { x, _ in try x.jpegCompressed(quality: q) }
        case .pixelate:
            let c = [0.95, 0.9, 0.85, 0.75, 0.65][s]
            return Corruption(name) { x, _ in x.pixelated(c) }
        case .fog:
            let c = [(0.2, 3.0), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)][s]
            return Corruption(name) { x, rng in
                let plasma = FloatImage.plasma(width: x.width, height: x.height, decay: c.1) { 2 * rng.uniformDouble() - 1 }
                return x.fogged(strength: c.0, plasma: plasma)
            }
        case .elasticTransform:
            // In units of the image size (32 for CIFAR): displacement, smoothing, affine jitter.
            let c = [(0.0, 0.0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06), (0.1, 0.04, 0.05), (0.1, 0.03, 0.03)][s]
            return Corruption(name) { x, rng in
                let size = Double(min(x.width, x.height))
                let d = ElasticDraws.draw(width: x.width, height: x.height, affine: size * c.2, rng: &rng)
                return x.elasticTransformed(alpha: size * c.0, sigma: size * c.1, draws: d)
            }
        }
    }

    /// The whole suite: every kind (in CorruptionKind order: noise, blur, then the rest) at every severity.
    public static func cifar10CSuite(kinds: [CorruptionKind] = CorruptionKind.allCases) -> [(CorruptionKind, Int, Corruption)] {
        kinds.flatMap { k in (1...5).map { s in (k, s, try! cifar10C(k, severity: s)) } }
    }
}
