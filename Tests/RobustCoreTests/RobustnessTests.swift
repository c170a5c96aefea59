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

/// The Fourier-basis perturbations of the sensitivity map.
final class FourierTests: XCTestCase {
    func testBasisHasUnitNormAndOneFrequencyPair() {
        for (u, v) in [(0, 0), (1, 0), (3, -5), (-16, 7), (16, 16)] {
            let b = FourierSensitivity.basis(u: u, v: v, height: 32, width: 32)
            XCTAssertEqual(b.reduce(0) { $0 + Double($1) * Double($1) }, 1, accuracy: 1e-5)
            // Its DFT is nonzero only at (u, v) and (-u, -v) modulo 32.
            var worstOff = 0.0, on = 0.0
            for fu in 0..<32 { for fv in 0..<32 {
                var re = 0.0, im = 0.0
                for y in 0..<32 { for x in 0..<32 {
                    let a = -2 * Double.pi * Double(fu * y + fv * x) / 32
                    re += Double(b[y * 32 + x]) * cos(a); im += Double(b[y * 32 + x]) * sin(a)
                } }
                let mag = (re * re + im * im).squareRoot()
                let hit = ((fu - u) % 32 + 32) % 32 == 0 && ((fv - v) % 32 + 32) % 32 == 0
                    || ((fu + u) % 32 + 32) % 32 == 0 && ((fv + v) % 32 + 32) % 32 == 0
                if hit { on = max(on, mag) } else { worstOff = max(worstOff, mag) }
            } }
            XCTAssertGreaterThan(on, 1, "(\(u), \(v))")
            XCTAssertLessThan(worstOff, 1e-4, "(\(u), \(v))")
        }
    }

    func testFrequenciesCoverTheGridOncePerMirrorPair() {
        let f = FourierSensitivity.frequencies(height: 32, width: 32)
        XCTAssertEqual(f.count, 514)   // (1024 + 4 self-mirrored frequencies) / 2
        var covered = Set<Int>()
        for (u, v) in f {
            covered.insert(((u % 32) + 32) % 32 * 32 + ((v % 32) + 32) % 32)
            covered.insert(((-u % 32) + 32) % 32 * 32 + ((-v % 32) + 32) % 32)
        }
        XCTAssertEqual(covered.count, 1024)
    }

    func testPerturbationAddsTheSignedPattern() {
        var ds = syntheticDataset(count: 6, classes: 3, size: 32, seed: 4)
        for i in ds.pixels.indices { ds.pixels[i] = 128 }  // mid-gray: no clipping
        let p = FourierSensitivity.perturbed(ds, u: 2, v: 3, eps: 2, seed: 1)
        let b = FourierSensitivity.basis(u: 2, v: 3, height: 32, width: 32)
        for i in 0..<6 { for c in 0..<3 {
            // Each image and channel: +pattern or -pattern, to 8-bit rounding.
            let d = (0..<1024).map { Double(p.pixels[i * 3072 + $0 * 3 + c]) / 255 - 128.0 / 255 }
            let dot = zip(d, b).reduce(0) { $0 + $1.0 * Double($1.1) }
            XCTAssertEqual(abs(dot), 2, accuracy: 0.02)
        } }
        XCTAssertEqual(FourierSensitivity.perturbed(ds, u: 2, v: 3, eps: 2, seed: 1).pixels, p.pixels)
    }
}
