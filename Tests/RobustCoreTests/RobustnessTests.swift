import XCTest
@testable import RobustCore

/// The robustness sweep's measures and the SVG charts it draws.
final class RobustnessTests: XCTestCase {
    func testMeasureReportsAccuracyConfidenceAndEntropy() throws {
        let ds = syntheticDataset(count: 24, classes: 4, size: 16, seed: 2)
        let net = ResNet18(width: 2, numClasses: 4)
        net.initialize(seed: 1)
        let clean = try Robustness.measure(net, normalization: .cifar10, data: ds, corruption: nil, name: "clean",
                                           family: "clean", level: 0, seed: 0)
        let p = Evaluator.predict(net, ds, normalization: .cifar10)
        XCTAssertEqual(clean.accuracy, p.accuracy)
        XCTAssertEqual(clean.images, 24)
        var conf = 0.0, ent = 0.0
        for i in 0..<24 {
            let row = p.probabilities[(i * 4)..<(i * 4 + 4)]
            conf += Double(row.max()!)
            ent -= row.map { Double($0) * log(Double($0)) }.reduce(0, +)
        }
        XCTAssertEqual(clean.meanConfidence, conf / 24, accuracy: 1e-6)
        XCTAssertEqual(clean.meanEntropy, ent / 24, accuracy: 1e-5)
        var counts = [Int](repeating: 0, count: 4)
        for c in p.predicted { counts[Int(c)] += 1 }
        XCTAssertEqual(clean.mostPredictedShare, Double(counts.max()!) / 24, accuracy: 1e-12)
        XCTAssertEqual(clean.mostPredicted, ds.classNames[counts.firstIndex(of: counts.max()!)!])
        XCTAssertGreaterThanOrEqual(clean.meanConfidence, 0.25)
        XCTAssertLessThanOrEqual(clean.meanEntropy, log(4) + 1e-6)
        // Heavy noise changes what the model sees: other outputs, same count.
        let noisy = try Robustness.measure(net, normalization: .cifar10, data: ds, corruption: .gaussianNoise(sigma: 0.5),
                                           name: "noise", family: "study", level: 0.5, seed: 0)
        XCTAssertEqual(noisy.images, 24)
        XCTAssertNotEqual(noisy.meanEntropy, clean.meanEntropy)
    }

    func testMeanAccuracyByCorruptionAndSpreadSample() {
        func row(_ n: String, _ a: Double) -> RobustnessRow {
            RobustnessRow(corruption: n, family: "noise", level: 1, images: 1, accuracy: a, meanConfidence: 0, meanEntropy: 0, seconds: 0)
        }
        let m = Robustness.meanAccuracy(byCorruption: [row("b", 0.5), row("a", 0.2), row("b", 0.7), row("a", 0.4)])
        XCTAssertEqual(m.map(\.0), ["b", "a"])
        XCTAssertEqual(m[0].1, 0.6, accuracy: 1e-12)
        XCTAssertEqual(m[1].1, 0.3, accuracy: 1e-12)
        // A class-sorted set of 100 (10 per class) sampled to 10 keeps one per class.
        XCTAssertEqual(Robustness.spreadSample(count: 100, n: 10).map { $0 / 10 }, Array(0..<10))
        XCTAssertEqual(Robustness.spreadSample(count: 5, n: 50), [0, 1, 2, 3, 4])
    }

    func testChartsAreWellFormedAndEscapeText() {
        let line = SVGChart.lines(title: "a < b & c", xLabel: "x", yLabel: "y",
                                  series: [("s'1", [(0, 0.5), (0.1, 0.25)]), ("s2", [(0, 1), (0.1, 0.75)])], yRange: 0...1)
        XCTAssertTrue(line.hasPrefix("<svg"))
        XCTAssertTrue(line.hasSuffix("</svg>\n"))
        XCTAssertTrue(line.contains("a &lt; b &amp; c"))
        XCTAssertTrue(line.contains("s&apos;1"))
        XCTAssertFalse(line.contains("a < b"))
        XCTAssertEqual(line.components(separatedBy: "<polyline").count - 1, 2)
        let heat = SVGChart.heatmap(title: "t", rows: ["r1", "r2"], columns: ["1", "2"], values: [[0.5, 0.25], [1, .nan]])
        XCTAssertEqual(heat.components(separatedBy: "<rect").count - 1, 1 + 4)  // background + cells
        XCTAssertTrue(heat.contains(">50<") && heat.contains(">25<") && heat.contains(">100<"))
        XCTAssertEqual(SVGChart.ticks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1])
        XCTAssertEqual(SVGChart.ticks(0, 2.5), [0, 0.5, 1, 1.5, 2, 2.5])
    }
}
