import XCTest
@testable import RobustCore

final class EvaluateTests: XCTestCase {
    /// The dataset's images moved in pixel space: pixel (y, x) of the result is pixel
    /// (y + dy, x + dx) of the (mirrored) image, 0 outside it.
    private func view(_ ds: Dataset, dx: Int, dy: Int, mirrored: Bool) -> Dataset {
        var out = ds
        let (h, w) = (ds.height, ds.width)
        for i in 0..<ds.count { for y in 0..<h { for x in 0..<w { for c in 0..<3 {
            let sy = y + dy, mx = x + dx
            let sx = mirrored ? w - 1 - mx : mx
            out.pixels[((i * h + y) * w + x) * 3 + c] =
                sy >= 0 && sy < h && mx >= 0 && mx < w ? ds.pixels[((i * h + sy) * w + sx) * 3 + c] : 0
        } } } }
        return out
    }

    /// views = n is the mean of the predictions on the first n of: the images, their mirror
    /// images, both shifted by (2, 2), both by (-2, -2); views 1 is the plain prediction.
    func testViewsAreTheMeanOfShiftedAndMirroredImages() {
        let ds = syntheticDataset(count: 6, classes: 4, size: 8, seed: 3)
        let m = ResNet18(width: 2, numClasses: 4)
        m.initialize(seed: 4)
        let singles = [(0, 0, false), (0, 0, true), (2, 2, false), (2, 2, true), (-2, -2, false), (-2, -2, true)].map {
            Evaluator.predict(m, view(ds, dx: $0.0, dy: $0.1, mirrored: $0.2), normalization: .cifar10, batchSize: 4).probabilities
        }
        for n in [1, 2, 4, 6] {
            let t = Evaluator.predict(m, ds, normalization: .cifar10, batchSize: 4, views: n)
            let mean = (0..<singles[0].count).map { j in singles[0..<n].reduce(0) { $0 + $1[j] } / Float(n) }
            XCTAssertLessThan(relativeError(t.probabilities, mean), 1e-5, "views \(n)")
            XCTAssertEqual(t.predicted.map(Int.init), (0..<ds.count).map { argmax(t.probabilities[($0 * 4)..<($0 * 4 + 4)]) })
        }
        // The views differ from each other (so each comparison above tests its own view).
        for a in 0..<singles.count { for b in 0..<a { XCTAssertGreaterThan(relativeError(singles[a], singles[b]), 1e-4, "views \(a), \(b)") } }
    }

    /// progress reports each batch once, after all its views, with the images done so far;
    /// the predictions are those without it.
    func testPredictReportsProgressPerBatch() {
        let ds = syntheticDataset(count: 10, classes: 4, size: 8, seed: 5)
        let m = ResNet18(width: 2, numClasses: 4)
        m.initialize(seed: 6)
        var calls: [[Int]] = []
        let p = Evaluator.predict(m, ds, normalization: .cifar10, batchSize: 4, views: 2) { calls.append([$0, $1]) }
        XCTAssertEqual(calls, [[4, 10], [8, 10], [10, 10]])
        XCTAssertLessThan(relativeError(p.probabilities, Evaluator.predict(m, ds, normalization: .cifar10, batchSize: 4, views: 2).probabilities), 1e-6)
    }

    /// The shift writes fill (pixel 0, normalized) where the view leaves the image, per channel.
    func testShiftedViewFillsWithNormalizedZero() {
        let (c, b, h, w) = (2, 2, 3, 4)
        let src = (0..<(c * b * h * w)).map { Float($0) }
        let t = Tensor([c, b, h, w])
        src.withUnsafeBufferPointer { TestTimeViews.write(2, of: $0.baseAddress!, into: t, fill: [-1, -2]) }  // (2, 2)
        for p in 0..<(c * b) { for y in 0..<h { for x in 0..<w {
            let want = y + 2 < h && x + 2 < w ? src[(p * h + y + 2) * w + x + 2] : (p < b ? -1 : -2)
            XCTAssertEqual(t.data[(p * h + y) * w + x], want)
        } } }
        src.withUnsafeBufferPointer { TestTimeViews.write(5, of: $0.baseAddress!, into: t, fill: [-1, -2]) }  // (-2, -2) mirrored
        for p in 0..<(c * b) { for y in 0..<h { for x in 0..<w {
            let want = y >= 2 && x >= 2 ? src[(p * h + y - 2) * w + (w - 1 - (x - 2))] : (p < b ? -1 : -2)
            XCTAssertEqual(t.data[(p * h + y) * w + x], want)
        } } }
    }
}
