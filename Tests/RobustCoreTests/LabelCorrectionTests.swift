import XCTest
@testable import RobustCore

/// Soft targets, sample weights and self-adaptive training: the loss against per-sample
/// distributions and how the targets move.
final class LabelCorrectionTests: XCTestCase {
    func randomLogits(_ n: Int, _ k: Int, seed: UInt64) -> Tensor {
        var rng = RNG(seed: seed)
        let t = Tensor([n, k])
        for i in 0..<t.count { t[i] = rng.normal() * 2 }
        return t
    }

    func testOneHotTargetsWithUnitWeightsEqualTheHardLabelLoss() {
        let (n, k) = (6, 5)
        let x = randomLogits(n, k, seed: 1)
        let labels: [Int32] = [0, 4, 2, 2, 1, 3]
        let hard = SoftmaxCrossEntropy(labelSmoothing: 0.1)
        let h = labels.withUnsafeBufferPointer { hard(x, $0) }
        let hardGrad = hard.inputGrad.array
        let t = LabelTargets(labels: labels, numClasses: k)
        let soft = SoftmaxCrossEntropy(labelSmoothing: 0.1)
        let s = t.values.withUnsafeBufferPointer { soft(x, targets: $0.baseAddress!, weights: nil) }
        XCTAssertEqual(s.loss, h.loss, accuracy: 1e-6)
        XCTAssertEqual(s.correct, h.correct)
        XCTAssertLessThan(relativeError(soft.inputGrad.array, hardGrad), 1e-6)
    }

    /// The soft, weighted loss by hand, and its gradient against central differences.
    func testSoftWeightedLossAndGradient() {
        let (n, k) = (4, 3)
        let x = randomLogits(n, k, seed: 2)
        let q: [Float] = [0.7, 0.2, 0.1, 0, 1, 0, 0.3, 0.3, 0.4, 0.5, 0, 0.5]
        let w: [Float] = [1, 0.25, 0.6, 0]
        let ce = SoftmaxCrossEntropy(labelSmoothing: 0.2)
        func loss() -> Double {
            Double(q.withUnsafeBufferPointer { qp in w.withUnsafeBufferPointer { wp in ce(x, targets: qp.baseAddress!, weights: wp.baseAddress!) } }.loss)
        }
        // by hand: sum_n w_n * (-sum_k q'_nk log softmax(x_n)_k) / sum_n w_n, q' = 0.8 q + 0.2 / 3
        var expected = 0.0
        for i in 0..<n {
            let row = (0..<k).map { Double(x[i * k + $0]) }
            let lse = log(row.map { exp($0) }.reduce(0, +))
            var l = 0.0
            for j in 0..<k { l -= (0.8 * Double(q[i * k + j]) + 0.2 / 3) * (row[j] - lse) }
            expected += Double(w[i]) * l
        }
        expected /= Double(w.reduce(0, +))
        XCTAssertEqual(loss(), expected, accuracy: 1e-5)
        let analytic = ce.inputGrad.array
        // a zero-weight sample gets no gradient
        for j in 0..<k { XCTAssertEqual(analytic[3 * k + j], 0) }
        let h: Float = 1e-2
        for i in 0..<x.count {
            let v = x[i]
            x[i] = v + h; let lp = loss()
            x[i] = v - h; let lm = loss()
            x[i] = v
            XCTAssertEqual((lp - lm) / Double(2 * h), Double(analytic[i]), accuracy: 2e-3, "logit \(i)")
        }
    }

    func testAllZeroWeightsGiveNoLossAndNoGradient() {
        let x = randomLogits(2, 3, seed: 3)
        let q: [Float] = [1, 0, 0, 0, 1, 0], w: [Float] = [0, 0]
        let ce = SoftmaxCrossEntropy()
        let r = q.withUnsafeBufferPointer { qp in w.withUnsafeBufferPointer { ce(x, targets: qp.baseAddress!, weights: $0.baseAddress!) } }
        XCTAssertEqual(r.loss, 0)
        XCTAssertTrue(ce.inputGrad.array.allSatisfy { $0 == 0 })
    }

    func testTargetsRejectRowsThatAreNotDistributions() {
        XCTAssertThrowsError(try LabelTargets(values: [0.5, 0.4], numClasses: 2))          // sums to 0.9
        XCTAssertThrowsError(try LabelTargets(values: [1.5, -0.5], numClasses: 2))         // negative
        XCTAssertThrowsError(try LabelTargets(values: [.nan, 1], numClasses: 2))
        XCTAssertThrowsError(try LabelTargets(values: [1, 0, 0], numClasses: 2))           // not whole rows
        XCTAssertThrowsError(try LabelTargets(values: [1, 0], numClasses: 2, weights: [1, 1]))
        XCTAssertThrowsError(try LabelTargets(values: [1, 0], numClasses: 2, weights: [-1]))
        XCTAssertNoThrow(try LabelTargets(values: [0.25, 0.75], numClasses: 2, weights: [0.5]))
    }

    /// t <- m t + (1 - m) p from the chosen epoch on, weight max_k t_k; untouched before it.
    func testSelfAdaptiveUpdate() {
        let t = LabelTargets(labels: [0, 1], numClasses: 2)
        t.momentum = 0.75
        t.updateFromEpoch = 2
        let p: [Float] = [0.2, 0.8, 0.1, 0.9]
        p.withUnsafeBufferPointer { t.update([0, 1], probabilities: $0.baseAddress!, epoch: 1) }
        XCTAssertEqual(t.values, [1, 0, 0, 1])
        XCTAssertNil(t.weights)
        p.withUnsafeBufferPointer { t.update([0, 1], probabilities: $0.baseAddress!, epoch: 2) }
        XCTAssertEqual(t.values[0], 0.8, accuracy: 1e-6)
        XCTAssertEqual(t.values[1], 0.2, accuracy: 1e-6)
        XCTAssertEqual(t.values[3], 0.975, accuracy: 1e-6)
        XCTAssertEqual(t.weights![0], 0.8, accuracy: 1e-6)
        XCTAssertEqual(t.weights![1], 0.975, accuracy: 1e-6)
        // only the batch's samples move
        p.withUnsafeBufferPointer { t.update([1], probabilities: $0.baseAddress! + 2, epoch: 3) }
        XCTAssertEqual(t.values[0], 0.8, accuracy: 1e-6)
        XCTAssertEqual(t.values[3], 0.975 * 0.75 + 0.9 * 0.25, accuracy: 1e-6)
        XCTAssertEqual(t.hardLabels, [0, 1])
    }

    /// Soft relabeling keeps unflagged samples one-hot and gives flagged ones the model's
    /// (renormalized) probabilities, weighted by their largest value.
    func testSoftRelabelTargets() {
        let given: [Int32] = [0, 1, 2]
        let p: [Float] = [0.9, 0.05, 0.05, 0.1, 0.2, 0.7, 0.3, 0.3, 0.4]
        let issues = LabelIssues(flagged: [1], suggested: [1, 2, 0], score: [0, 1, 0], thresholds: [], joint: [], estimatedPerClass: [])
        let t = LabelAudit.softTargets(given: given, numClasses: 3, issues: issues, probabilities: p)
        XCTAssertEqual(Array(t.values[0..<3]), [1, 0, 0])
        XCTAssertEqual(Array(t.values[3..<6]), [0.1, 0.2, 0.7])
        XCTAssertEqual(Array(t.values[6..<9]), [0, 0, 1])
        XCTAssertEqual(t.weights!, [1, 0.7, 1])
        XCTAssertEqual(t.hardLabels, [0, 2, 2])
        // distillation: unflagged rows mix the given label with the model's probabilities
        let d = LabelAudit.softTargets(given: given, numClasses: 3, issues: issues, probabilities: p, teacherWeight: 0.5)
        for (a, b) in zip(Array(d.values[0..<3]), [Float(0.95), 0.025, 0.025]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertEqual(Array(d.values[3..<6]), [0.1, 0.2, 0.7])  // flagged rows as before
        for (a, b) in zip(Array(d.values[6..<9]), [Float(0.15), 0.15, 0.7]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertEqual(d.weights!, [1, 0.7, 1])
    }

    /// Self-adaptive training on generated data with 30% of the labels flipped: the targets
    /// of flipped samples move to their true class, and more of them end there than the
    /// given labels had right.
    func testSelfAdaptiveTrainingCorrectsFlippedLabels() throws {
        let (train, noisy) = try noisySyntheticTrainingSet(count: 240, seed: 11, rate: 0.3, noiseSeed: 2)
        var cfg = TrainConfig()
        cfg.width = 4; cfg.epochs = 8; cfg.batchSize = 32; cfg.lr = 0.05
        let trainer = Trainer(config: cfg, train: train, test: nil)
        let t = LabelTargets(labels: train.labels, numClasses: 4)
        t.momentum = 0.7
        t.updateFromEpoch = 3
        trainer.targets = t
        while !trainer.isFinished { _ = trainer.runEpoch() }
        let corrected = t.hardLabels
        let flipped = (0..<train.count).filter { noisy.isMislabeled[$0] }
        let fixed = flipped.filter { corrected[$0] == noisy.truth[$0] }.count
        XCTAssertGreaterThan(Double(fixed) / Double(flipped.count), 0.5, "\(fixed) of \(flipped.count) flipped labels corrected")
        let rightBefore = zip(train.labels, noisy.truth).filter { $0 == $1 }.count
        let rightAfter = zip(corrected, noisy.truth).filter { $0 == $1 }.count
        XCTAssertGreaterThan(rightAfter, rightBefore)
        // flipped samples end with less weight than the others on average
        let w = t.weights!
        let meanFlipped = flipped.map { Double(w[$0]) }.reduce(0, +) / Double(flipped.count)
        let kept = (0..<train.count).filter { !noisy.isMislabeled[$0] }
        let meanKept = kept.map { Double(w[$0]) }.reduce(0, +) / Double(kept.count)
        XCTAssertLessThan(meanFlipped, meanKept)
    }
}

/// Early-learning regularization: the running predictions, the term's value and gradient, and
/// the property it exists for (it cancels the pull of a wrong label the network disagrees with).
final class EarlyLearningTests: XCTestCase {
    func probabilities(_ x: Tensor) -> [Float] {
        let (n, k) = (x.shape[0], x.shape[1])
        var p = [Float](repeating: 0, count: n * k)
        p.withUnsafeMutableBufferPointer { softmax(x.data, $0.baseAddress!, rows: n, cols: k) }
        return p
    }

    func testRunningPredictionsAverageTheNormalizedClampedProbabilities() {
        let e = EarlyLearningRegularizer(count: 3, numClasses: 2, weight: 1, momentum: 0.7)
        var g = [Float](repeating: 0, count: 2)
        let p: [Float] = [0.25, 0.75]
        p.withUnsafeBufferPointer { pp in g.withUnsafeMutableBufferPointer { gp in
            _ = e.apply([2], probabilities: pp.baseAddress!, grad: gp.baseAddress!)
            _ = e.apply([2], probabilities: pp.baseAddress!, grad: gp.baseAddress!)
        } }
        // zero start: t1 = 0.3 p, t2 = 0.7 t1 + 0.3 p = 0.51 p; other samples untouched
        XCTAssertEqual(e.targets[4], 0.51 * 0.25, accuracy: 1e-6)
        XCTAssertEqual(e.targets[5], 0.51 * 0.75, accuracy: 1e-6)
        XCTAssertEqual(Array(e.targets[0..<4]), [0, 0, 0, 0])
        // a certain prediction is clamped before it is averaged: 1 - <p, t> stays near clamp,
        // not 0, and the value near log(clamp) (the floor of 1 - <p, t> at the smallest float
        // would give -87)
        let certain: [Float] = [0, 1]
        var v: Float = 0
        for _ in 0..<200 {
            v = certain.withUnsafeBufferPointer { pp in g.withUnsafeMutableBufferPointer { gp in
                e.apply([0], probabilities: pp.baseAddress!, grad: gp.baseAddress!) } }
        }
        XCTAssertEqual(e.targets[1], 1 - EarlyLearningRegularizer.clamp, accuracy: 1e-6)
        XCTAssertEqual(Double(v), log(2 * Double(EarlyLearningRegularizer.clamp)), accuracy: 0.05)
    }

    /// lambda * mean_n log(1 - <p_n, t_n>) by hand, and its logit gradient against central differences.
    func testValueAndGradient() {
        let (n, k) = (4, 5)
        var rng = RNG(seed: 7)
        let x = Tensor([n, k])
        for i in 0..<x.count { x[i] = rng.normal() * 1.5 }
        // row 2 saturated: p_0 stays inside the clamp, the others fall under it (no gradient
        // through their own p); row 3 fully clamped: no gradient at all
        for j in 0..<k { x[2 * k + j] = j == 0 ? 10 : 0; x[3 * k + j] = j == 0 ? 13 : 0 }
        let e = EarlyLearningRegularizer(count: 10, numClasses: k, weight: 3, momentum: 0.6)
        let idx = [7, 1, 4, 9][...]
        // give the running predictions some history from other logits
        for s in 0..<3 {
            let y = Tensor([n, k])
            for i in 0..<y.count { y[i] = rng.normal() * 2 + Float(s) }
            var p = probabilities(y), g = [Float](repeating: 0, count: n * k)
            p.withUnsafeMutableBufferPointer { pp in g.withUnsafeMutableBufferPointer { gp in
                _ = e.apply(idx, probabilities: pp.baseAddress!, grad: gp.baseAddress!) } }
        }
        let t = e.targets
        func value(grad g: inout [Float]) -> Double {
            let p = probabilities(x)
            return Double(p.withUnsafeBufferPointer { pp in g.withUnsafeMutableBufferPointer { gp in
                e.apply(idx, probabilities: pp.baseAddress!, grad: gp.baseAddress!, update: false) } })
        }
        var g = [Float](repeating: 0.5, count: n * k)  // the gradient is added to what is there
        let v = value(grad: &g)
        XCTAssertEqual(e.targets, t, "update: false must leave the running predictions alone")
        let p = probabilities(x)
        var expected = 0.0
        for (b, i) in idx.enumerated() {
            var r = 0.0
            for j in 0..<k { r += Double(min(max(p[b * k + j], 1e-4), 1 - 1e-4)) * Double(t[i * k + j]) }  // clamped
            expected += log(1 - r)
        }
        expected *= 3 / Double(n)
        XCTAssertEqual(v, expected, accuracy: 1e-5)
        let h: Float = 1e-2
        var scratch = [Float](repeating: 0, count: n * k)
        for i in 0..<x.count {
            let x0 = x[i]
            x[i] = x0 + h; let lp = value(grad: &scratch)
            x[i] = x0 - h; let lm = value(grad: &scratch)
            x[i] = x0
            XCTAssertEqual((lp - lm) / Double(2 * h), Double(g[i] - 0.5), accuracy: 2e-3, "logit \(i)")
        }
        // (row 2's clamped classes still get gradient, through the softmax of the unclamped one)
        for j in 0..<k { XCTAssertEqual(g[3 * k + j], 0.5, "a fully clamped row passes no gradient") }
    }

    /// With per-sample weights (soft targets) the rows average like the weighted cross-entropy:
    /// by sum(w), and a weight-0 sample gets no pull.
    func testWeightedRowsAverageBySumOfWeights() {
        let (n, k) = (3, 4)
        var rng = RNG(seed: 9)
        let x = Tensor([n, k])
        for i in 0..<x.count { x[i] = rng.normal() }
        let p = probabilities(x)
        let e = EarlyLearningRegularizer(count: n, numClasses: k, weight: 2, momentum: 0.5)
        var g = [Float](repeating: 0, count: n * k)
        p.withUnsafeBufferPointer { pp in g.withUnsafeMutableBufferPointer { gp in
            _ = e.apply(Array(0..<n)[...], probabilities: pp.baseAddress!, grad: gp.baseAddress!) } }  // a history
        var plain = [Float](repeating: 0, count: n * k), weighted = plain
        let w: [Float] = [1, 0, 0.5]
        let v1 = p.withUnsafeBufferPointer { pp in plain.withUnsafeMutableBufferPointer { gp in
            e.apply(Array(0..<n)[...], probabilities: pp.baseAddress!, grad: gp.baseAddress!, update: false) } }
        let v2 = p.withUnsafeBufferPointer { pp in weighted.withUnsafeMutableBufferPointer { gp in
            w.withUnsafeBufferPointer { wp in
                e.apply(Array(0..<n)[...], probabilities: pp.baseAddress!, grad: gp.baseAddress!, weights: wp.baseAddress!, update: false) } } }
        // plain rows carry 1/3 each; weighted rows w/1.5
        for j in 0..<k {
            XCTAssertEqual(weighted[j], plain[j] * 3 / 1.5, accuracy: 1e-6)
            XCTAssertEqual(weighted[k + j], 0, "a weight-0 sample is not pulled")
            XCTAssertEqual(weighted[2 * k + j], plain[2 * k + j] * 3 * 0.5 / 1.5, accuracy: 1e-6)
        }
        // the value: 2 * sum_n w_n log(1 - <p_n, t_n>) / sum(w), from the plain rows' terms
        let t = e.targets
        var terms = [Double]()
        for i in 0..<n {
            var r = 0.0
            for j in 0..<k { r += Double(p[i * k + j]) * Double(t[i * k + j]) }
            terms.append(log(1 - r))
        }
        XCTAssertEqual(Double(v1), 2 * terms.reduce(0, +) / 3, accuracy: 1e-5)
        XCTAssertEqual(Double(v2), 2 * (terms[0] + 0.5 * terms[2]) / 1.5, accuracy: 1e-5)
    }

    /// A sample labeled 1 that the network has long predicted as class 0: cross-entropy pushes
    /// logit 0 down, the regularizer (weight 3) pushes it up by more, so the sum keeps class 0.
    func testItCancelsTheCrossEntropyPullOfAWrongLabel() {
        let x = Tensor([1, 3])
        x[0] = 2; x[1] = 0; x[2] = -1
        let p = probabilities(x)
        let e = EarlyLearningRegularizer(count: 1, numClasses: 3, weight: 3, momentum: 0.7)
        var scratch = [Float](repeating: 0, count: 3)
        for _ in 0..<20 {
            p.withUnsafeBufferPointer { pp in scratch.withUnsafeMutableBufferPointer { gp in
                _ = e.apply([0], probabilities: pp.baseAddress!, grad: gp.baseAddress!) } }
        }
        let ce = SoftmaxCrossEntropy()
        let label: [Int32] = [1]
        _ = label.withUnsafeBufferPointer { ce(x, $0) }
        let ceGrad = ce.inputGrad.array
        XCTAssertGreaterThan(ceGrad[0], 0, "cross-entropy alone lowers the predicted class")
        var g = ceGrad
        p.withUnsafeBufferPointer { pp in g.withUnsafeMutableBufferPointer { gp in
            _ = e.apply([0], probabilities: pp.baseAddress!, grad: gp.baseAddress!) } }
        XCTAssertLessThan(g[0], 0, "with the regularizer the step raises the class the network has predicted all along")
        XCTAssertGreaterThan(g[1], ceGrad[1], "and pulls less towards the given label")
    }
}
