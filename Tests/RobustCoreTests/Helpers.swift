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

/// max |a-b| / max(max|b|, floor): a relative error against the reference's scale.
func relativeError(_ a: [Float], _ b: [Float], floor: Float = 1e-6) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count)")
    var num: Float = 0, den: Float = floor
    for i in 0..<a.count { num = max(num, abs(a[i] - b[i])); den = max(den, abs(b[i])) }
    return num / den
}

/// A small synthetic dataset: each class is a distinct colour pattern plus noise, so a
/// network can learn it in a few steps.
func syntheticDataset(count: Int, classes: Int = 4, size: Int = 32, seed: UInt64 = 7) -> Dataset {
    var rng = RNG(seed: seed)
    var ds = Dataset(height: size, width: size, classNames: (0..<classes).map { "c\($0)" })
    for i in 0..<count {
        let k = i % classes
        for y in 0..<size {
            for x in 0..<size {
                let stripe = ((k % 2 == 0 ? x : y) / (2 + k)) % 2
                for c in 0..<3 {
                    let base = (c == k % 3 ? 180 : 60) + stripe * 50
                    ds.pixels.append(UInt8(max(0, min(255, base + Int(rng.normal() * 20)))))
                }
            }
        }
        ds.labels.append(Int32(k))
        ds.sources.append("synthetic#\(i)")
    }
    return ds
}
