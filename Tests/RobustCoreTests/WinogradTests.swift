import XCTest
@testable import RobustCore

/// Inference through Winograd F(2x2,3x3) against the direct convolution and the im2col path.
final class WinogradTests: XCTestCase {
    func testMatchesDirectConvolutionWithEpilogue() {
        let saved = (Conv2d.sliceBytes, Threads.count, Winograd.enabled, Winograd.minTiles, minParallelFlops)
        defer {
            Conv2d.sliceBytes = saved.0; Threads.set(saved.1); Winograd.enabled = saved.2; Winograd.minTiles = saved.3
            minParallelFlops = saved.4
        }
        Winograd.minTiles = 0  // the small shapes here must take the Winograd path
        minParallelFlops = 0   // and the few-slice mode must split its phases across workers
        var rng = RNG(seed: 11)
        // planes of every tile-row width the SIMD code has a path for (2, 4, 8 and 8+4+2 tiles)
        for (h, w, cin, cout, n) in [(4, 4, 3, 5, 3), (8, 8, 7, 4, 2), (2, 16, 4, 6, 5), (6, 28, 5, 3, 2), (32, 32, 2, 3, 1)] {
            XCTAssertTrue(Winograd.applies(k: 3, stride: 1, pad: 1, h: h, w: w))
            let conv = Conv2d("c", cin: cin, cout: cout, k: 3, stride: 1, pad: 1, workspace: Workspace())
            for i in 0..<conv.weight.value.count { conv.weight.value[i] = rng.normal() }
            conv.weight.markModified()
            let x = Tensor([cin, n, h, w]), res = Tensor([cout, n, h, w])
            for i in 0..<x.count { x[i] = rng.normal() }
            for i in 0..<res.count { res[i] = rng.normal() }
            var ep = ChannelAffine(scale: (0..<cout).map { _ in rng.normal() }, shift: (0..<cout).map { _ in rng.normal() }, relu: true)
            var ref = naiveWithEpilogue(x, conv, n: n, h: h, w: w, ep, res)
            for (slice, threads) in [(1 << 30, 1), (1, 2), (1 << 30, 2), (4096, 3)] {
                Conv2d.sliceBytes = slice
                Threads.set(threads)
                Winograd.enabled = true
                let y = conv.forward(x, mode: .eval, epilogue: ep, residual: res).array
                XCTAssertLessThan(relativeError(y, ref), 1e-5, "\(h)x\(w) cin \(cin) slice \(slice) threads \(threads)")
                Winograd.enabled = false
                let z = conv.forward(x, mode: .eval, epilogue: ep, residual: res).array
                XCTAssertLessThan(relativeError(y, z), 1e-5)
            }
            // New weights must not be served from the cached transformed filters.
            for i in 0..<conv.weight.value.count { conv.weight.value[i] = rng.normal() }
            conv.weight.markModified()
            ep.relu = false
            ref = naiveWithEpilogue(x, conv, n: n, h: h, w: w, ep, res)
            Winograd.enabled = true
            XCTAssertLessThan(relativeError(conv.forward(x, mode: .eval, epilogue: ep, residual: res).array, ref), 1e-5)
        }
    }

    /// Training: the forward pass and the input gradient go through Winograd; both must agree
    /// with the im2col path (the weight gradient is im2col's in both).
    func testTrainingForwardAndInputGradientMatchIm2col() {
        let saved = (Threads.count, Winograd.inTraining, Winograd.minTiles)
        defer { Threads.set(saved.0); Winograd.inTraining = saved.1; Winograd.minTiles = saved.2 }
        Winograd.minTiles = 0
        var rng = RNG(seed: 5)
        for (h, w, cin, cout, n, threads) in [(8, 8, 3, 5, 4, 2), (4, 12, 6, 2, 1, 2), (16, 16, 4, 4, 3, 1)] {
            Threads.set(threads)
            let conv = Conv2d("c", cin: cin, cout: cout, k: 3, stride: 1, pad: 1, workspace: Workspace())
            for i in 0..<conv.weight.value.count { conv.weight.value[i] = rng.normal() }
            let x = Tensor([cin, n, h, w]), dy = Tensor([cout, n, h, w])
            for i in 0..<x.count { x[i] = rng.normal() }
            for i in 0..<dy.count { dy[i] = rng.normal() }
            var results: [[Float]] = []
            for viaWinograd in [true, false] {
                Winograd.inTraining = viaWinograd
                let y = conv.forward(x, mode: .train).array
                let dx = conv.backward(dy).array
                results.append(y + dx + conv.weight.grad!.array)
            }
            XCTAssertLessThan(relativeError(results[0], results[1]), 1e-5, "\(h)x\(w) cin \(cin) cout \(cout) n \(n)")
        }
    }

    func testShapesOutsideThePathFallBack() {
        XCTAssertFalse(Winograd.applies(k: 3, stride: 1, pad: 1, n: 1, h: 8, w: 8) && Winograd.minTiles > 16)  // too few tiles
        XCTAssertFalse(Winograd.applies(k: 3, stride: 1, pad: 1, h: 6, w: 6))   // 3 tiles a row
        XCTAssertFalse(Winograd.applies(k: 3, stride: 1, pad: 1, h: 5, w: 8))   // odd height
        XCTAssertFalse(Winograd.applies(k: 3, stride: 2, pad: 1, h: 8, w: 8))
        XCTAssertFalse(Winograd.applies(k: 1, stride: 1, pad: 0, h: 8, w: 8))
    }

    private func naiveWithEpilogue(_ x: Tensor, _ conv: Conv2d, n: Int, h: Int, w: Int,
                                   _ ep: ChannelAffine, _ res: Tensor) -> [Float] {
        var y = naiveConvRect(x.array, n: n, cin: conv.cin, h: h, w: w, weight: conv.weight.value.array, cout: conv.cout)
        let plane = n * h * w
        for c in 0..<conv.cout { for i in 0..<plane {
            let v = y[c * plane + i] * ep.scale[c] + ep.shift[c] + res[c * plane + i]
            y[c * plane + i] = ep.relu ? max(0, v) : v
        } }
        return y
    }

    /// 3x3, stride 1, pad 1, on h x w planes, channel-major.
    private func naiveConvRect(_ x: [Float], n: Int, cin: Int, h: Int, w: Int, weight: [Float], cout: Int) -> [Float] {
        var y = [Float](repeating: 0, count: cout * n * h * w)
        for co in 0..<cout { for ni in 0..<n { for oy in 0..<h { for ox in 0..<w {
            var s: Float = 0
            for ci in 0..<cin { for ky in 0..<3 { for kx in 0..<3 {
                let iy = oy + ky - 1, ix = ox + kx - 1
                if iy >= 0 && iy < h && ix >= 0 && ix < w {
                    s += weight[((co * cin + ci) * 3 + ky) * 3 + kx] * x[((ci * n + ni) * h + iy) * w + ix]
                }
            } } }
            y[((co * n + ni) * h + oy) * w + ox] = s
        } } } }
        return y
    }
}
