import XCTest
import Dispatch
@testable import RobustCore

/// Scoring: resizing, scores and verdicts, the thread-safe classifier, and bad inputs.
final class AuditTests: XCTestCase {
    func testResizeMatchesPillowBilinear() throws {
        let bytes = try FileIO.read(fixturesDir + "/resize_pil.bin", limit: 1 << 20)
        let src = RGBImage(width: 37, height: 23, pixels: Array(bytes[0..<(37 * 23 * 3)]))
        var offset = 37 * 23 * 3
        for (w, h) in [(32, 32), (13, 9), (50, 40), (37, 7), (1, 1)] {
            let want = Array(bytes[offset..<(offset + w * h * 3)])
            offset += w * h * 3
            let got = ImageCodec.resize(src, width: w, height: h).pixels
            XCTAssertEqual(got, want, "\(w)x\(h): \(zip(got, want).filter { $0 != $1 }.count) bytes differ from Pillow")
        }
        XCTAssertEqual(offset, bytes.count)
    }

    func testScoreFields() {
        let names = ["a", "b", "c", "d"]
        let s = Score(probabilities: [0.1, 0.6, 0.25, 0.05], classNames: names, claimed: 2)
        XCTAssertEqual(s.predicted, 1)
        XCTAssertEqual(s.predictedName, "b")
        XCTAssertEqual(s.margin, 0.35, accuracy: 1e-6)
        let h: Float = -(0.1 * log(0.1) + 0.6 * log(0.6) + 0.25 * log(0.25) + 0.05 * log(0.05))
        XCTAssertEqual(s.entropy, h, accuracy: 1e-5)
        XCTAssertEqual(s.normalizedEntropy, h / log(4), accuracy: 1e-5)
        XCTAssertEqual(s.claimedProbability, 0.25)
        XCTAssertEqual(s.verdict, .uncertain)  // 0.25: neither confirmed (< 0.5) nor contradicted (> 0.1)
        XCTAssertEqual(Score(probabilities: [0.1, 0.6, 0.25, 0.05], classNames: names, claimed: 3).verdict, .conflict)
        XCTAssertEqual(Score(probabilities: [0.1, 0.6, 0.25, 0.05], classNames: names, claimed: 1).verdict, .consistent)
        XCTAssertEqual(Score(probabilities: [0.3, 0.35, 0.3, 0.05], classNames: names, claimed: 3).verdict, .uncertain)  // unsure model
        XCTAssertEqual(Score(probabilities: [1, 0, 0, 0], classNames: names, claimed: nil).normalizedEntropy, 0)
        XCTAssertEqual(Score(probabilities: [0.25, 0.25, 0.25, 0.25], classNames: names, claimed: nil).normalizedEntropy, 1, accuracy: 1e-6)
        XCTAssertTrue(probabilityEntropy([0.5, 0.6]).isNaN)
        XCTAssertTrue(probabilityEntropy([-0.1, 1.1]).isNaN)
        XCTAssertTrue(probabilityEntropy([.nan, 1]).isNaN)
        XCTAssertTrue(probabilityEntropy([]).isNaN)
        var gate = GatePolicy()
        XCTAssertEqual(gate.decide(Score(probabilities: [0.9, 0.05, 0.03, 0.02], classNames: names, claimed: 0)).0, .accept)
        XCTAssertEqual(gate.decide(Score(probabilities: [0.9, 0.05, 0.03, 0.02], classNames: names, claimed: 1)).0, .reject)
        let unsure = gate.decide(Score(probabilities: [0.28, 0.27, 0.25, 0.2], classNames: names, claimed: 0))
        XCTAssertEqual(unsure.0, .review)
        XCTAssertEqual(unsure.1, [.highEntropy, .lowConfidence])
        gate.maxNormalizedEntropy = 1; gate.minConfidence = 0
        XCTAssertEqual(gate.decide(Score(probabilities: [0.28, 0.27, 0.25, 0.2], classNames: names, claimed: 0)).0, .accept)
    }

    func testClassifierPathsAgreeAndThreadsGetIdenticalResults() throws {
        let clf = try Classifier(path: fixturesDir + "/resnet18_w4.safetensors")
        XCTAssertEqual(clf.info.width, 4)
        var rng = RNG(seed: 9)
        let images = (0..<6).map { i in
            let w = [32, 40, 17, 64, 32, 8][i], h = [32, 24, 17, 48, 32, 8][i]
            return RGBImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { _ in UInt8(rng.int(256)) })
        }
        let batch = try clf.score(images, claimed: [0, 1, nil, 3, 4, 9])
        for (i, img) in images.enumerated() {
            let one = try clf.score(img)
            XCTAssertLessThan(relativeError(one.probabilities, batch[i].probabilities), 1e-5)
            // PNG bytes decode to the same pixels, so the same scores.
            let png = try clf.score(encoded: ImageCodec.encodePNG(img))
            XCTAssertEqual(png.probabilities, one.probabilities)
        }
        XCTAssertEqual(batch[2].claimed, nil)
        XCTAssertEqual(batch[5].claimed, 9)
        XCTAssertNotNil(batch[5].verdict)
        // 8 threads, one classifier, the same images: identical results.
        let reference = try images.map { try clf.score($0).probabilities }
        nonisolated(unsafe) var mismatches = 0
        let lock = NSLockLite()
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for round in 0..<5 {
                let i = (t + round) % images.count
                let p = (try? clf.score(images[i]).probabilities) ?? []
                if p != reference[i] { lock.run { mismatches += 1 } }
            }
        }
        XCTAssertEqual(mismatches, 0)
    }

    func testBadInputsAreErrors() throws {
        let clf = try Classifier(path: fixturesDir + "/resnet18_w4.safetensors")
        XCTAssertThrowsError(try clf.classIndex("unicorn")) { XCTAssertTrue("\($0)".contains("unknown class 'unicorn'")) }
        XCTAssertEqual(try clf.classIndex("Cat"), 3)
        XCTAssertEqual(try clf.classIndex("7"), 7)
        XCTAssertThrowsError(try clf.score(RGBImage(width: 0, height: 4, pixels: [])))
        XCTAssertThrowsError(try clf.score(RGBImage(width: 2, height: 2, pixels: [1, 2, 3])))
        XCTAssertThrowsError(try clf.score(RGBImage(width: 1, height: 1, pixels: [1, 2, 3]), claimed: 10))
        let png = try ImageCodec.encodePNG(RGBImage(width: 8, height: 8, pixels: [UInt8](repeating: 7, count: 192)))
        XCTAssertThrowsError(try clf.score(encoded: Array(png.prefix(png.count / 2)), source: "half.png")) {
            XCTAssertTrue("\($0)".contains("half.png"))
        }
        XCTAssertThrowsError(try clf.score(encoded: [], source: "empty"))
        XCTAssertThrowsError(try clf.score(encoded: Array("not an image".utf8)))
        XCTAssertThrowsError(try clf.score(path: "/nonexistent/x.png")) { XCTAssertTrue("\($0)".contains("/nonexistent/x.png")) }
        clf.maxPixels = 63
        XCTAssertThrowsError(try clf.score(encoded: png)) { XCTAssertTrue("\($0)".lowercased().contains("pixel")) }
        let (d, r, s) = try clf.gate(encoded: Array(png.prefix(10)), claimed: nil)
        XCTAssertEqual(d, .reject); XCTAssertEqual(r, .unreadable); XCTAssertNil(s)
        XCTAssertThrowsError(try Classifier(bytes: Array("{}".utf8)))
        XCTAssertThrowsError(try Classifier(bytes: [255, 255, 255, 255, 255, 255, 255, 127, 0, 0]))
    }
}

/// A tiny pthread-free lock for the test's counter (Dispatch semaphores).
final class NSLockLite: @unchecked Sendable {
    private let s = DispatchSemaphore(value: 1)
    func run(_ body: () -> Void) { s.wait(); body(); s.signal() }
}
