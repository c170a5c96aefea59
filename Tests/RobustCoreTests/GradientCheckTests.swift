import XCTest
@testable import RobustCore

/// Finite-difference checks of every layer's backward pass, and of a whole tiny ResNet.
/// The scalar probed is L = sum(y * r) for a fixed random r, so dL/dy = r.
final class GradientCheckTests: XCTestCase {
    func randomTensor(_ shape: [Int], _ rng: inout RNG, scale: Float = 1) -> Tensor {
        let t = Tensor(shape)
        for i in 0..<t.count { t[i] = rng.normal() * scale }
        return t
    }

    func dot(_ a: Tensor, _ b: Tensor) -> Double {
        var s = 0.0
        for i in 0..<a.count { s += Double(a[i]) * Double(b[i]) }
        return s
    }

    /// Central differences of `loss` with respect to `sample` coordinates of `t`, compared
    /// with `analytic`. Coordinates for which `skip` is true (near a ReLU kink) are skipped.
    func check(_ name: String, _ t: Tensor, analytic: [Float], h: Float = 1e-2, tol: Double = 2e-2,
               samples: Int = 24, rng: inout RNG, skip: ((Int) -> Bool)? = nil, loss: () -> Double) {
        var checked = 0
        var worst = 0.0
        let scale = max(analytic.map { Double(abs($0)) }.max() ?? 0, 1e-3)
        for _ in 0..<samples * 4 where checked < samples {
            let i = rng.int(t.count)
            if let skip, skip(i) { continue }
            let v = t[i]
            t[i] = v + h; let lp = loss()
            t[i] = v - h; let lm = loss()
            t[i] = v
            let numeric = (lp - lm) / (2 * Double(h))
            let err = abs(numeric - Double(analytic[i])) / scale
            worst = max(worst, err)
            checked += 1
        }
        XCTAssertGreaterThan(checked, samples / 2, "\(name): too few coordinates checked")
        XCTAssertLessThan(worst, tol, "\(name): worst relative error \(worst)")
    }

    func testConvGradients() {
        for (k, stride, pad) in [(3, 1, 1), (3, 2, 1), (1, 2, 0), (1, 1, 0)] {
            var rng = RNG(seed: UInt64(k * 10 + stride))
            let conv = Conv2d("c", cin: 3, cout: 4, k: k, stride: stride, pad: pad, workspace: Workspace())
            for i in 0..<conv.weight.value.count { conv.weight.value[i] = rng.normal() * 0.3 }
            let x = randomTensor([3, 2, 7, 7], &rng)
            let y = conv.forward(x, mode: .train)
            let r = randomTensor(y.shape, &rng)
            conv.backward(r)
            let dx = conv.inputGrad.array, dw = conv.weight.grad!.array
            let loss = { self.dot(conv.forward(x, mode: .train), r) }
            check("conv k\(k) s\(stride) dx", x, analytic: dx, rng: &rng, loss: loss)
            check("conv k\(k) s\(stride) dW", conv.weight.value, analytic: dw, rng: &rng, loss: loss)
        }
    }

    func testBatchNormGradients() {
        for relu in [false, true] {
            var rng = RNG(seed: relu ? 3 : 4)
            let bn = BatchNorm2d("bn", channels: 3, relu: relu)
            for i in 0..<3 { bn.weight.value[i] = 1 + rng.normal() * 0.2; bn.bias.value[i] = rng.normal() * 0.2 }
            let x = randomTensor([3, 4, 5, 5], &rng, scale: 2)
            let y = bn.forward(x, mode: .train)
            let yCopy = y.array
            let r = randomTensor(y.shape, &rng)
            bn.backward(r)
            let dx = bn.inputGrad.array, dg = bn.weight.grad!.array, db = bn.bias.grad!.array
            let loss = { self.dot(bn.forward(x, mode: .train), r) }
            // Skip coordinates whose own output sits near the ReLU kink.
            let nearKink: (Int) -> Bool = { i in relu && abs(yCopy[i]) < 0.1 }
            check("bn relu=\(relu) dx", x, analytic: dx, rng: &rng, skip: nearKink, loss: loss)
            if !relu {
                check("bn dgamma", bn.weight.value, analytic: dg, samples: 3, rng: &rng, loss: loss)
                check("bn dbeta", bn.bias.value, analytic: db, samples: 3, rng: &rng, loss: loss)
            }
        }
    }

    /// Batch norm's training passes by image blocks (ImageBlocks) against the passes by
    /// channels: the same outputs and gradients up to the sums' grouping, with and without the
    /// ReLU, for batches of 2-11 images (fewer images than blocks, and blocks of unequal size);
    /// and by blocks, the same bits on 1-3 workers.
    func testBatchNormByImageBlocksMatchesByChannels() {
        let saved = (ImageBlocks.enabled, Threads.count)
        defer { ImageBlocks.enabled = saved.0; Threads.set(saved.1) }
        for relu in [false, true] {
            for n in [2, 5, 11] {
                var results: [[[Float]]] = []
                for (blocks, threads) in [(false, 2), (true, 1), (true, 2), (true, 3)] {
                    ImageBlocks.enabled = blocks
                    Threads.set(threads)
                    var rng = RNG(seed: 29)
                    let bn = BatchNorm2d("bn", channels: 3, relu: relu)
                    for i in 0..<3 { bn.weight.value[i] = 1 + rng.normal() * 0.3; bn.bias.value[i] = rng.normal() * 0.3 }
                    let x = randomTensor([3, n, 5, 7], &rng, scale: 2)
                    for i in 0..<x.count { x[i] += 3 }  // a mean away from 0: the shifted moments matter
                    let y = bn.forward(x, mode: .train).array
                    let dy = randomTensor(x.shape, &rng)
                    bn.backward(dy)
                    results.append([y, bn.inputGrad.array, bn.weight.grad!.array, bn.bias.grad!.array,
                                    bn.runningMean.value.array, bn.runningVar.value.array])
                }
                let what = "relu \(relu), \(n) images"
                for (k, name) in ["y", "dx", "dgamma", "dbeta", "running mean", "running var"].enumerated() {
                    XCTAssertLessThan(relativeError(results[1][k], results[0][k]), 1e-5, "\(what): \(name)")
                    XCTAssertEqual(results[2][k], results[1][k], "\(what): \(name), 2 workers vs 1")
                    XCTAssertEqual(results[3][k], results[1][k], "\(what): \(name), 3 workers vs 1")
                }
            }
        }
    }

    /// The fused ReLU's backward mask is recomputed from x (x * scale + shift <= 0) instead of
    /// stored: it must match the forward's zeros exactly, also at the kink. With dy = 1 the bias
    /// gradient of a channel is the count of its positive outputs, an exact integer in floats.
    func testBatchNormReLUMaskMatchesTheForwardExactly() {
        var rng = RNG(seed: 11)
        let bn = BatchNorm2d("bn", channels: 4, relu: true)
        for i in 0..<4 { bn.weight.value[i] = 1 + rng.normal() * 0.5; bn.bias.value[i] = rng.normal() * 0.3 }
        let x = randomTensor([4, 8, 9, 9], &rng, scale: 3)  // [C, N, H, W]
        // inputs on the batch mean make x - mean tiny: outputs at and near the kink
        for i in stride(from: 0, to: x.count, by: 7) { x[i] = 0 }
        let y = bn.forward(x, mode: .train).array
        let dy = Tensor(x.shape)
        for i in 0..<dy.count { dy[i] = 1 }
        bn.backward(dy)
        let db = bn.bias.grad!.array
        let hw = 81
        for c in 0..<4 {
            var positive = 0
            for n in 0..<8 { for i in 0..<hw where y[(c * 8 + n) * hw + i] > 0 { positive += 1 } }
            XCTAssertEqual(db[c], Float(positive), "channel \(c)")
        }
        // Outputs exactly at the kink and one ulp either side: each channel holds -1 and +1 in
        // equal numbers (mean 0, variance 1 exactly), and its bias is scale, or one ulp off it,
        // so the -1 inputs give y = bias - scale in {-ulp, 0, +ulp}.
        let k = BatchNorm2d("k", channels: 6, relu: true)
        let inv = 1 / (Float(1) + k.eps).squareRoot()
        let xk = Tensor([6, 4, 4, 4])
        for i in 0..<xk.count { xk[i] = (i % 64) < 32 ? -1 : 1 }
        for c in 0..<6 {
            let g: Float = c < 3 ? 0.7 : 1.3
            let scale = g * inv
            k.weight.value[c] = g
            k.bias.value[c] = [scale.nextDown, scale, scale.nextUp][c % 3]
        }
        let yk = k.forward(xk, mode: .train).array
        let dyk = Tensor(xk.shape)
        for i in 0..<dyk.count { dyk[i] = 1 }
        k.backward(dyk)
        let dbk = k.bias.grad!.array
        for c in 0..<6 {
            let positive = yk[(c * 64)..<(c * 64 + 64)].filter { $0 > 0 }.count
            XCTAssertEqual(positive, c % 3 == 2 ? 64 : 32, "channel \(c): the construction missed the kink")
            XCTAssertEqual(dbk[c], Float(positive), "channel \(c) at the kink")
        }
    }

    func testLinearPoolAndLossGradients() {
        var rng = RNG(seed: 9)
        let pool = GlobalAvgPool(), lin = Linear("l", inFeatures: 3, outFeatures: 5)
        for i in 0..<15 { lin.weight.value[i] = rng.normal() }
        for i in 0..<5 { lin.bias.value[i] = rng.normal() }
        let x = randomTensor([3, 4, 3, 3], &rng)
        let labels: [Int32] = [0, 4, 2, 2]
        let ce = SoftmaxCrossEntropy(labelSmoothing: 0.1)
        func loss() -> Double {
            let logits = lin.forward(pool.forward(x), mode: .train)
            return Double(labels.withUnsafeBufferPointer { ce(logits, $0) }.loss)
        }
        _ = loss()
        let dx = pool.backward(lin.backward(ce.inputGrad)).array
        let dw = lin.weight.grad!.array, db = lin.bias.grad!.array
        check("pool+linear dx", x, analytic: dx, h: 1e-2, rng: &rng, loss: loss)
        check("linear dW", lin.weight.value, analytic: dw, rng: &rng, loss: loss)
        check("linear db", lin.bias.value, analytic: db, samples: 5, rng: &rng, loss: loss)
    }

    func testAddReLUGradient() {
        var rng = RNG(seed: 5)
        let op = AddReLU()
        let a = randomTensor([2, 2, 4, 4], &rng), b = randomTensor([2, 2, 4, 4], &rng)
        let y = op.forward(a, b).array
        let r = randomTensor([2, 2, 4, 4], &rng)
        let d = op.backward(r).array
        check("add+relu", a, analytic: d, rng: &rng, skip: { abs(y[$0]) < 0.05 && (a[$0] + b[$0]) > -0.05 }) {
            self.dot(op.forward(a, b), r)
        }
    }

    /// A whole width-2 ResNet-18 in training mode, cross-entropy loss: the directional
    /// derivative along random directions in parameter space against g . d. (Per-coordinate
    /// differences are unreliable here: one early weight moves thousands of ReLU inputs, some
    /// across their kink. Exact per-parameter agreement is the PyTorch cross-check's job.)
    func testWholeTinyResNet() {
        // F(2x2) Winograd: less rounding noise for h = 1e-5 (see FusionNetTests).
        let savedTiles = Winograd.largeTiles
        Winograd.largeTiles = false
        defer { Winograd.largeTiles = savedTiles }
        var rng = RNG(seed: 11)
        let m = ResNet18(width: 2, numClasses: 3)
        m.initialize(seed: 1)
        let x = randomTensor([3, 8, 16, 16], &rng)
        let labels: [Int32] = [0, 1, 2, 1, 0, 2, 2, 1]
        let ce = SoftmaxCrossEntropy()
        func loss() -> Double {
            Double(labels.withUnsafeBufferPointer { ce(m.forward(x, mode: .train), $0) }.loss)
        }
        _ = loss()
        m.backward(ce.inputGrad)
        let params = m.parameters.filter(\.isTrainable)
        let grads = params.map { $0.grad!.array }
        let base = params.map { $0.value.array }
        for trial in 0..<3 {
            let dirs = params.map { p in (0..<p.value.count).map { _ in rng.normal() } }
            var analytic = 0.0
            for (g, d) in zip(grads, dirs) { for i in 0..<g.count { analytic += Double(g[i]) * Double(d[i]) } }
            func shifted(_ h: Float) -> Double {
                for (j, p) in params.enumerated() { for i in 0..<p.value.count { p.value[i] = base[j][i] + h * dirs[j][i] } }
                return loss()
            }
            // Small h: fewer ReLU kinks crossed (measured: 15% off at 1e-3, 5% at 1e-4, <1% at 1e-5).
            let h: Float = 1e-5
            let numeric = (shifted(h) - shifted(-h)) / (2 * Double(h))
            _ = shifted(0)
            XCTAssertEqual(numeric, analytic, accuracy: 2e-2 * abs(analytic), "direction \(trial)")
        }
    }
}
