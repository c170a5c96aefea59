import XCTest
@testable import RobustCore

/// Folder of committed fixtures (made by scripts/torch/make_fixtures.py).
let fixturesDir: String = {
    let here = #filePath
    return String(here[..<here.lastIndex(of: "/")!]) + "/Fixtures"
}()

/// A fresh temporary directory for one test.
func temporaryDirectory(_ tag: String = "robust") -> String {
    var template = Array("/tmp/\(tag)-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
}

/// NCHW -> channel-major [C, N, H, W], as the network takes its input.
func toChannelMajor(_ x: [Float], n: Int, c: Int, hw: Int) -> Tensor {
    let t = Tensor([c, n, Int(Double(hw).squareRoot()), Int(Double(hw).squareRoot())])
    for ni in 0..<n { for ci in 0..<c { for p in 0..<hw { t[(ci * n + ni) * hw + p] = x[(ni * c + ci) * hw + p] } } }
    return t
}

/// max |a-b| / max(max|b|, floor): a relative error against the reference's scale. Infinite
/// when any difference is NaN (Swift's max drops a NaN second argument, so a NaN output, an
/// element never written, would otherwise pass).
func relativeError(_ a: [Float], _ b: [Float], floor: Float = 1e-6) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count)")
    var num: Float = 0, den: Float = floor
    for i in 0..<a.count {
        let d = abs(a[i] - b[i])
        if d.isNaN { return .infinity }
        num = max(num, d); den = max(den, abs(b[i]))
    }
    return num / den
}

/// A generated 4-class, 16x16 training set with `rate` of its labels flipped symmetrically:
/// the set (given labels) and the noise mask.
func noisySyntheticTrainingSet(count: Int, seed: UInt64, rate: Double, noiseSeed: UInt64) throws -> (Dataset, NoisyLabels) {
    let ds = syntheticDataset(count: count, classes: 4, size: 16, seed: seed)
    let noisy = try NoisyLabels.inject(ds.labels, classNames: ds.classNames, kind: .symmetric, rate: rate, seed: noiseSeed)
    var train = ds
    train.labels = noisy.given
    return (train, noisy)
}

/// A small generated dataset a network learns in a few steps (see SyntheticData).
func syntheticDataset(count: Int, classes: Int = 4, size: Int = 32, seed: UInt64 = 7) -> Dataset {
    SyntheticData.make(count: count, classes: classes, size: size, seed: seed)
}

/// Results computed with another split of the work (worker count, slices, bands, channel
/// split): the same bits where the BLAS gives every element of a product the same bits however
/// the product is cut into calls (`BLAS.splitInvariant`, measured on this CPU), else within
/// `tolerance` relative (OpenBLAS 0.3.21's Haswell kernels on AMD Zen 5 differ in the last bits).
func assertSameBitsWhereBLASAllows(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5, _ message: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
    if BLAS.splitInvariant {
        XCTAssertEqual(a, b, message, file: file, line: line)
    } else {
        XCTAssertEqual(a.count, b.count, message, file: file, line: line)
        guard a.count == b.count else { return }
        XCTAssertLessThan(relativeError(a, b), tolerance, "\(message) (BLAS \(BLAS.coreName) is not split-invariant here)",
                          file: file, line: line)
    }
}
