import XCTest
@testable import RobustCore

/// The corruptions against the libraries CIFAR-10-C's generator used (fixtures from
/// scripts/fixtures/make_corruption_fixtures.py: scikit-image, scipy, OpenCV, Pillow,
/// ImageMagick), the noise family by its statistics, and the dataset-level application.
final class CorruptionTests: XCTestCase {
    static let fixture: SafeTensors = try! SafeTensors.load(fixturesDir + "/corruptions.safetensors")
    var fx: SafeTensors { Self.fixture }
    var source: FloatImage { FloatImage(width: 32, height: 32, pixels: try! fx.floats("source")) }

    /// Largest and mean absolute difference to the fixture tensor `name`.
    func compare(_ got: FloatImage, _ name: String, maxError: Float, meanError: Float = 1, file: StaticString = #filePath, line: UInt = #line) throws {
        let want = try fx.floats(name)
        XCTAssertEqual(got.pixels.count, want.count, name, file: file, line: line)
        var worst: Float = 0, sum: Float = 0
        for (a, b) in zip(got.pixels, want) { worst = max(worst, abs(a - b)); sum += abs(a - b) }
        let mean = sum / Float(want.count)
        XCTAssertLessThanOrEqual(worst, maxError, "\(name): largest difference \(worst)", file: file, line: line)
        XCTAssertLessThanOrEqual(mean, meanError, "\(name): mean difference \(mean)", file: file, line: line)
    }

    func testGaussianBlurMatchesScikitImage() throws {
        for s in 1...5 {
            var rng = RNG(seed: 0)
            try compare(try Corruption.cifar10C(.gaussianBlur, severity: s).apply(source, rng: &rng), "gaussian_blur.\(s)", maxError: 1e-5)
        }
        for sigma in [0.5, 1.0, 2.5] {
            var rng = RNG(seed: 0)
            try compare(try Corruption.gaussianBlur(sigma: sigma).apply(source, rng: &rng), "study_blur.\(sigma)", maxError: 1e-5)
        }
    }

    func testDefocusBlurMatchesOpenCV() throws {
        for s in 1...5 {
            var rng = RNG(seed: 0)
            try compare(try Corruption.cifar10C(.defocusBlur, severity: s).apply(source, rng: &rng), "defocus_blur.\(s)", maxError: 1e-5)
        }
    }

    func testGlassBlurWithTheSameShiftsMatches() throws {
        let params = [(0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)]
        for s in 1...5 {
            let shifts = try fx.floats("glass_blur.\(s).shifts").map { Int($0) }
            var next = 0
            let got = source.glassBlurred(sigma: params[s - 1].0, maxDelta: params[s - 1].1, iterations: params[s - 1].2) {
                defer { next += 1 }
                return shifts[next]
            }
            XCTAssertEqual(next, shifts.count, "every draw used")
            // The 8-bit truncation between the two blurs can differ by one level where the
            // blurred value sits on an integer: allow one level there, far less on average.
            try compare(got, "glass_blur.\(s)", maxError: 1.0 / 255, meanError: 1e-4)
        }
    }

    func testMotionBlurMatchesImageMagick() throws {
        let params = [(6.0, 1.0), (6, 1.5), (6, 2), (8, 2), (9, 2.5)]
        for s in 1...5 {
            let angle = Double(try fx.floats("motion_blur.\(s).angle")[0])
            let got = source.motionBlurred(radius: params[s - 1].0, sigma: params[s - 1].1, angleDegrees: angle)
            // ImageMagick writes 8-bit PNG: one level of rounding.
            try compare(got, "motion_blur.\(s)", maxError: 1.0 / 255 + 1e-5, meanError: 0.6 / 255)
        }
    }

    func testZoomBlurMatchesScipy() throws {
        for s in 1...5 {
            var rng = RNG(seed: 0)
            try compare(try Corruption.cifar10C(.zoomBlur, severity: s).apply(source, rng: &rng), "zoom_blur.\(s)", maxError: 1e-5)
        }
    }

    func testDigitalCorruptionsMatchReferences() throws {
        for s in 1...5 {
            var rng = RNG(seed: 0)
            try compare(try Corruption.cifar10C(.contrast, severity: s).apply(source, rng: &rng), "contrast.\(s)", maxError: 1e-5)
            try compare(try Corruption.cifar10C(.brightness, severity: s).apply(source, rng: &rng), "brightness.\(s)", maxError: 1e-5)
            try compare(try Corruption.cifar10C(.saturate, severity: s).apply(source, rng: &rng), "saturate.\(s)", maxError: 1e-5)
            // Pillow's box resampling in fixed point: exact.
            try compare(try Corruption.cifar10C(.pixelate, severity: s).apply(source, rng: &rng), "pixelate.\(s)", maxError: 1e-6)
            // Two builds of libjpeg-turbo (Pillow's wheel, Debian's): a level or two at most.
            try compare(try Corruption.cifar10C(.jpegCompression, severity: s).apply(source, rng: &rng), "jpeg_compression.\(s)",
                        maxError: 2.0 / 255 + 1e-6, meanError: 0.3 / 255)
        }
    }

    func testFogWithTheSameDrawsMatches() throws {
        let params = [(0.2, 3.0), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)]
        for s in 1...5 {
            let draws = try fx.floats("fog.\(s).draws").map(Double.init)
            var next = 0
            let plasma = FloatImage.plasma(width: 32, height: 32, decay: params[s - 1].1) {
                defer { next += 1 }
                return draws[next]
            }
            XCTAssertEqual(next, draws.count, "every draw used")
            // The draws were stored as float32: a relative 6e-8 each.
            try compare(source.fogged(strength: params[s - 1].0, plasma: plasma), "fog.\(s)", maxError: 1e-4, meanError: 1e-5)
        }
    }

    func testElasticWithTheSameDrawsMatches() throws {
        let params = [(0.0, 0.0), (0.05, 0.2), (0.08, 0.06), (0.1, 0.04), (0.1, 0.03)]
        for s in 1...5 {
            let d = ElasticDraws(jitter: try fx.floats("elastic_transform.\(s).jitter").map(Double.init),
                                 fieldX: try fx.floats("elastic_transform.\(s).field_x").map(Double.init),
                                 fieldY: try fx.floats("elastic_transform.\(s).field_y").map(Double.init))
            let got = source.elasticTransformed(alpha: 32 * params[s - 1].0, sigma: 32 * params[s - 1].1, draws: d)
            try compare(got, "elastic_transform.\(s)", maxError: 1e-5)
        }
    }

    /// Mean and standard deviation of (corrupted - clean) over a flat mid-gray image.
    func noiseStatistics(_ c: Corruption, level: Float = 0.5, size: Int = 128) throws -> (mean: Double, std: Double, corrupted: [Float]) {
        let img = FloatImage(width: size, height: size, fill: level)
        var rng = RNG(seed: 5)
        let out = try c.apply(img, rng: &rng).pixels
        let d = out.map { Double($0 - level) }
        let mean = d.reduce(0, +) / Double(d.count)
        let v = d.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d.count)
        return (mean, v.squareRoot(), out)
    }

    func testNoiseCorruptionsHaveTheirDistributions() throws {
        // Gaussian: sigma as asked (no clipping at 0.5 +- 0.1).
        for (s, sigma) in [(1, 0.04), (5, 0.10)] {
            let st = try noiseStatistics(try Corruption.cifar10C(.gaussianNoise, severity: s))
            XCTAssertEqual(st.mean, 0, accuracy: 0.002)
            XCTAssertEqual(st.std, sigma, accuracy: sigma * 0.03)
        }
        // Shot: Poisson(x c) / c has mean x and standard deviation sqrt(x / c).
        for (s, photons) in [(1, 500.0), (5, 50)] {
            let st = try noiseStatistics(try Corruption.cifar10C(.shotNoise, severity: s))
            XCTAssertEqual(st.mean, 0, accuracy: 0.002)
            XCTAssertEqual(st.std, (0.5 / photons).squareRoot(), accuracy: (0.5 / photons).squareRoot() * 0.03)
        }
        // Small rates go through the other Poisson branch: lambda = 0.05 * 50 = 2.5.
        let low = try noiseStatistics(try Corruption.cifar10C(.shotNoise, severity: 5), level: 0.05)
        XCTAssertEqual(low.mean, 0, accuracy: 0.002)
        XCTAssertEqual(low.std, (0.05 / 50.0).squareRoot(), accuracy: (0.05 / 50.0).squareRoot() * 0.04)
        // Impulse: a share `amount` of values set to 0 or 1, half each.
        let imp = try noiseStatistics(try Corruption.cifar10C(.impulseNoise, severity: 5)).corrupted
        let salt = Double(imp.filter { $0 == 1 }.count) / Double(imp.count)
        let pepper = Double(imp.filter { $0 == 0 }.count) / Double(imp.count)
        XCTAssertEqual(salt, 0.035, accuracy: 0.003)
        XCTAssertEqual(pepper, 0.035, accuracy: 0.003)
        XCTAssertEqual(Double(imp.filter { $0 == 0.5 }.count) / Double(imp.count), 0.93, accuracy: 0.004)
        // Speckle: x + x N(0, c^2): standard deviation c x.
        let sp = try noiseStatistics(try Corruption.cifar10C(.speckleNoise, severity: 5))
        XCTAssertEqual(sp.std, 0.2 * 0.5, accuracy: 0.003)
        // The study's sweep at 0 changes nothing.
        XCTAssertEqual(try noiseStatistics(.gaussianNoise(sigma: 0)).std, 0)
    }

    func testDatasetCorruptionIsSeededAndIndependentOfThreads() throws {
        let ds = syntheticDataset(count: 40, classes: 4, size: 32, seed: 3)
        let c = try Corruption.cifar10C(.glassBlur, severity: 4)
        let before = Threads.count
        defer { Threads.set(before) }
        Threads.set(1)
        let one = try ds.corrupted(by: c, seed: 9)
        Threads.set(2)
        let two = try ds.corrupted(by: c, seed: 9)
        XCTAssertEqual(one.pixels, two.pixels, "thread count changed the result")
        XCTAssertNotEqual(try ds.corrupted(by: c, seed: 10).pixels, one.pixels, "the seed is not used")
        XCTAssertNotEqual(one.pixels, ds.pixels)
        XCTAssertEqual(one.labels, ds.labels)
        // Other corruptions with the same seed get other streams.
        let n1 = try ds.corrupted(by: try Corruption.cifar10C(.gaussianNoise, severity: 1), seed: 9)
        let n2 = try ds.corrupted(by: try Corruption.cifar10C(.speckleNoise, severity: 5), seed: 9)
        XCTAssertNotEqual(n1.pixels, n2.pixels)
    }

    func testEveryCorruptionRunsOnOddSizesAndStaysInRange() throws {
        // Non-square, small, and one-pixel images: no crash, output in [0, 1], same size.
        for (w, h) in [(7, 5), (1, 1), (40, 24)] {
            var g = RNG(seed: 1)
            let img = FloatImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { _ in g.uniform() })
            for (_, _, c) in Corruption.cifar10CSuite() {
                var rng = RNG(seed: 2)
                let out = try c.apply(img, rng: &rng)
                XCTAssertEqual(out.width, w); XCTAssertEqual(out.height, h)
                XCTAssertTrue(out.pixels.allSatisfy { $0 >= 0 && $0 <= 1 && $0.isFinite }, "\(c) at \(w)x\(h)")
            }
        }
        XCTAssertThrowsError(try Corruption.cifar10C(.fog, severity: 6))
        XCTAssertThrowsError(try Corruption.cifar10C(.fog, severity: 0))
    }
}

