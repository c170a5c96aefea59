import XCTest
@testable import RobustCore

final class EvaluateTests: XCTestCase {
    /// Flip averaging = the mean of the predictions on the images and on their mirror images.
    func testFlipAveragingIsTheMeanOfBothViews() {
        let ds = syntheticDataset(count: 6, classes: 4, size: 8, seed: 3)
        var mirrored = ds
        for i in 0..<ds.count { for y in 0..<8 { for x in 0..<8 { for c in 0..<3 {
            mirrored.pixels[((i * 8 + y) * 8 + x) * 3 + c] = ds.pixels[((i * 8 + y) * 8 + (7 - x)) * 3 + c]
        } } } }
        let m = ResNet18(width: 2, numClasses: 4)
        m.initialize(seed: 4)
        let a = Evaluator.predict(m, ds, normalization: .cifar10, batchSize: 4)
        let b = Evaluator.predict(m, mirrored, normalization: .cifar10, batchSize: 4)
        let t = Evaluator.predict(m, ds, normalization: .cifar10, batchSize: 4, flipAveraging: true)
        let mean = zip(a.probabilities, b.probabilities).map { 0.5 * ($0 + $1) }
        XCTAssertLessThan(relativeError(t.probabilities, mean), 1e-5)
        XCTAssertGreaterThan(relativeError(a.probabilities, b.probabilities), 1e-4)  // the views differ
    }
}
