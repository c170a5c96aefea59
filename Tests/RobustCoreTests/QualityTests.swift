import XCTest
@testable import RobustCore

/// Image-quality measures, calibration and the dataset audit (duplicates included).
final class QualityTests: XCTestCase {
    func image(_ f: FloatImage) -> RGBImage { f.rgb }

    /// A textured but smooth test image: gradients and a soft blob.
    func smoothImage(size: Int = 48) -> FloatImage {
        var img = FloatImage(width: size, height: size)
        for y in 0..<size { for x in 0..<size {
            let fx = Float(x) / Float(size), fy = Float(y) / Float(size)
            let blob = exp(-((fx - 0.5) * (fx - 0.5) + (fy - 0.4) * (fy - 0.4)) * 12)
            img[y, x, 0] = 0.2 + 0.5 * fx; img[y, x, 1] = 0.3 + 0.4 * blob; img[y, x, 2] = 0.6 - 0.3 * fy
        } }
        return img
    }

    func testDetailEstimatesGaussianNoiseSigma() {
        var rng = RNG(seed: 3)
        let flat = FloatImage(width: 96, height: 96, fill: 0.5)
        for sigma: Float in [0.02, 0.05, 0.1] {
            let q = ImageQuality(image(flat.addingGaussianNoise(sigma: sigma, rng: &rng)))
            // Luminance mixes three independent channels: its noise is sigma * |(0.299, 0.587, 0.114)|.
            let expected = Double(sigma) * (0.299 * 0.299 + 0.587 * 0.587 + 0.114 * 0.114).squareRoot()
            XCTAssertEqual(q.detail, expected, accuracy: expected * 0.12 + 0.002, "sigma \(sigma)")
        }
        XCTAssertEqual(ImageQuality(image(flat)).detail, 0)
    }

    func testBlurLowersAndNoiseRaisesDetail() {
        var rng = RNG(seed: 4)
        let base = smoothImage().addingGaussianNoise(sigma: 0.01, rng: &rng)
        let d0 = ImageQuality(image(base)).detail, s0 = ImageQuality(image(base)).sharpness
        var last = d0, lastSharp = s0
        for sigma in [0.5, 1.0, 2.0] {
            let q = ImageQuality(image(base.gaussianBlurred(sigma: sigma)))
            XCTAssertLessThan(q.detail, last); XCTAssertLessThan(q.sharpness, lastSharp)
            last = q.detail; lastSharp = q.sharpness
        }
        let noisy = ImageQuality(image(base.addingGaussianNoise(sigma: 0.08, rng: &rng)))
        XCTAssertGreaterThan(noisy.detail, 3 * d0)
    }

    func testExposureEntropyAndHash() {
        let gray = ImageQuality(image(FloatImage(width: 16, height: 16, fill: 100.0 / 255)))
        XCTAssertEqual(gray.brightness, 100.0 / 255, accuracy: 1e-9)
        XCTAssertEqual(gray.contrast, 0, accuracy: 1e-12)
        XCTAssertEqual(gray.entropy, 0)
        // Half black, half white: one bit.
        var half = FloatImage(width: 16, height: 16)
        for y in 0..<16 { for x in 8..<16 { for c in 0..<3 { half[y, x, c] = 1 } } }
        let h = ImageQuality(image(half))
        XCTAssertEqual(h.entropy, 1, accuracy: 1e-12)
        XCTAssertEqual(h.brightness, 0.5, accuracy: 1e-9)
        // dHash: a small brightness change keeps it, a mirror image changes many bits.
        let img = smoothImage()
        var brighter = img
        for i in brighter.pixels.indices { brighter.pixels[i] = min(1, brighter.pixels[i] + 3.0 / 255) }
        var mirrored = img
        for y in 0..<img.height { for x in 0..<img.width { for c in 0..<3 { mirrored[y, x, c] = img[y, img.width - 1 - x, c] } } }
        let a = ImageQuality(image(img)).hash
        XCTAssertLessThanOrEqual((a ^ ImageQuality(image(brighter)).hash).nonzeroBitCount, 2)
        XCTAssertGreaterThan((a ^ ImageQuality(image(mirrored)).hash).nonzeroBitCount, 10)
        // Tiny images do not crash.
        _ = ImageQuality(RGBImage(width: 1, height: 1, pixels: [1, 2, 3]))
        _ = ImageQuality(RGBImage(width: 2, height: 9, pixels: [UInt8](repeating: 7, count: 54)))
    }

    func testCalibrationFlagsItsRatesAndRoundTrips() throws {
        let ds = syntheticDataset(count: 400, classes: 4, size: 32, seed: 9)
        let m = QualityAudit.measure(ds)
        let cal = try QualityCalibration.calibrate(m, source: "synthetic")
        let noisy = m.filter { cal.flags($0).contains(.noisy) }.count
        let blurry = m.filter { cal.flags($0).contains(.blurry) }.count
        XCTAssertLessThanOrEqual(noisy, 5); XCTAssertGreaterThanOrEqual(noisy, 3)   // 1% of 400
        XCTAssertLessThanOrEqual(blurry, 5); XCTAssertGreaterThanOrEqual(blurry, 3)
        let dir = temporaryDirectory()
        let path = dir + "/cal.json"
        try cal.save(path)
        XCTAssertEqual(try QualityCalibration.load(path), cal)
        // Every damaged copy of the set is noisier or blurrier than its clean version.
        let noisySet = try ds.corrupted(by: .gaussianNoise(sigma: 0.1), seed: 1)
        let mn = QualityAudit.measure(noisySet)
        XCTAssertGreaterThan(mn.filter { cal.flags($0).contains(.noisy) }.count, 380)
        let blurSet = try ds.corrupted(by: .gaussianBlur(sigma: 1.5), seed: 1)
        XCTAssertGreaterThan(QualityAudit.measure(blurSet).filter { cal.flags($0).contains(.blurry) }.count, 380)
        XCTAssertThrowsError(try QualityCalibration.calibrate(Array(m.prefix(5)), source: "x"))
    }

    func testBadCalibrationFilesAreRefusedByName() throws {
        let dir = temporaryDirectory()
        let cases: [(String, String)] = [
            ("not json", "not a quality calibration file"),
            ("{\"format\":\"something-else\"}", "not a quality calibration file"),
            ("{\"format\":\"robust-quality-calibration\",\"images\":3}", "missing or bad"),
            ("{\"format\":\"robust-quality-calibration\",\"images\":3,\"noisy_above\":0.01,\"blurry_below\":0.02,\"dark_below\":0.1,"
             + "\"light_above\":0.9,\"low_information_below\":4,\"near_duplicate_bits\":2}", "out of order")]
        for (i, (text, want)) in cases.enumerated() {
            let p = dir + "/bad\(i).json"
            try FileIO.writeAtomically(p, text: text)
            XCTAssertThrowsError(try QualityCalibration.load(p)) { e in
                XCTAssertTrue("\(e)".contains(want) && "\(e)".contains(p), "\(e)")
            }
        }
        XCTAssertThrowsError(try QualityCalibration.load(dir + "/missing.json"))
    }

    func testAuditFindsExactAndNearDuplicates() throws {
        var ds = syntheticDataset(count: 30, classes: 3, size: 32, seed: 5)
        let b = ds.imageBytes
        // image 20 = image 3 exactly; image 25 = image 7 slightly brighter
        for j in 0..<b { ds.pixels[20 * b + j] = ds.pixels[3 * b + j] }
        for j in 0..<b { ds.pixels[25 * b + j] = UInt8(min(255, Int(ds.pixels[7 * b + j]) + 2)) }
        let m = QualityAudit.measure(ds)
        let cal = try QualityCalibration.calibrate(m, source: "t")
        let r = QualityAudit.run(ds, calibration: cal)
        XCTAssertEqual(r.duplicateOf[20], DuplicateMatch(index: 3, bits: 0, exact: true))
        XCTAssertTrue(r.flags[20].contains(.duplicate))
        XCTAssertEqual(r.duplicateOf[25]?.index, 7)
        XCTAssertEqual(r.duplicateOf[25]?.exact, false)
        XCTAssertTrue(r.flags[25].contains(.nearDuplicate))
        XCTAssertNil(r.duplicateOf[3]); XCTAssertNil(r.duplicateOf[7])   // the first of each pair is the original
        XCTAssertEqual(r.counts().first { $0.0 == "duplicate" }?.1, 1)
        // The measures do not depend on the thread count.
        let before = Threads.count
        defer { Threads.set(before) }
        Threads.set(1)
        XCTAssertEqual(QualityAudit.measure(ds), m)
    }

    func testFlatFolderLoadsAsOneUnlabeledClass() throws {
        let dir = temporaryDirectory()
        let ds = syntheticDataset(count: 3, classes: 3, size: 32, seed: 1)
        for i in 0..<3 {
            let img = RGBImage(width: 32, height: 32, pixels: Array(ds.pixels[(i * ds.imageBytes)..<((i + 1) * ds.imageBytes)]))
            try FileIO.writeAtomically(dir + "/img\(i).png", bytes: try ImageCodec.encodePNG(img))
        }
        let (loaded, report) = try ImageFolder.load(dir)
        XCTAssertEqual(loaded.count, 3)
        XCTAssertEqual(loaded.classNames, [ImageFolder.unlabeledClass])
        XCTAssertEqual(report.loaded, 3)
        XCTAssertEqual(loaded.pixels, ds.pixels)
    }

    func testBuiltInThresholdsAreTheShippedCalibrationFile() throws {
        let path = fixturesDir + "/../../../models/cifar10-quality.json"
        XCTAssertEqual(try QualityCalibration.load(path), QualityCalibration.cifar10,
                       "models/cifar10-quality.json and QualityCalibration.cifar10 disagree: recalibrate both together")
    }

    func testGateReviewsDamagedImagesAndReportsWhy() throws {
        let flat = FloatImage(width: 32, height: 32, fill: 0.5).rgb
        var policy = GatePolicy()
        let cal = try XCTUnwrap(policy.quality)
        let f = cal.flags(cal.measure(flat))
        XCTAssertEqual(f, [.blurry, .lowInformation])
        let s = Score(probabilities: [0.97, 0.01, 0.01, 0.01], classNames: ["a", "b", "c", "d"], claimed: 0)
        XCTAssertEqual(policy.decide(s).0, .accept)
        let (d, r) = policy.decide(s, quality: f)
        XCTAssertEqual(d, .review)
        XCTAssertEqual(r.names, ["blurry", "low_information"])
        XCTAssertEqual(GatePolicy.reasons([.dark]).names, ["bad_exposure"])
        policy.quality = nil
        XCTAssertEqual(policy.decide(s, quality: []).0, .accept)
        // A calibration measures at its image size: a 64 x 64 flat image is the same as a 32 x 32 one.
        XCTAssertEqual(cal.measure(FloatImage(width: 64, height: 64, fill: 0.5).rgb).detail, 0)
    }
}
