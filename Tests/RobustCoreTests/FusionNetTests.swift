import XCTest
@testable import RobustCore

/// FusionNet's forward and backward: gradients against finite differences, the modality
/// dropout paths, and the saved names.
final class FusionNetTests: XCTestCase {
    func makeNet() -> FusionNet {
        let net = FusionNet(width: 2, numClasses: 3, hidden: 8)
        net.initialize(seed: 3)
        return net
    }

    func testGradientsMatchFiniteDifferences() {
        // Finite differences at h = 1e-5 in fp32 need a forward pass with little rounding
        // noise: F(4x4) Winograd's (errors up to ~1.5e-6) put this check 2.3% off against its 2%
        // bound. This test is about FusionNet's backward math; F(4x4)'s own numerics are checked
        // against im2col (WinogradTests) and PyTorch (TorchCrossCheckTests).
        let savedTiles = Winograd.largeTiles
        Winograd.largeTiles = false
        defer { Winograd.largeTiles = savedTiles }
        var rng = RNG(seed: 21)
        let net = makeNet()
        let x = Tensor([3, 6, 16, 16])
        for i in 0..<x.count { x[i] = rng.normal() }
        let meta: [Int32] = [0, 1, FusionNet.missing, 2, 1, FusionNet.missing]
        let keep = [true, false, true, true, false, true]
        let labels: [Int32] = [0, 1, 2, 2, 1, 0]
        let ce = SoftmaxCrossEntropy()
        func loss() -> Double {
            Double(labels.withUnsafeBufferPointer { ce(net.forward(x, meta: meta, keepImage: keep, mode: .train), $0) }.loss)
        }
        _ = loss()
        net.backward(ce.inputGrad)
        let params = net.parameters.filter(\.isTrainable)
        let grads = params.map { $0.grad!.array }
        let base = params.map { $0.value.array }
        // The metadata branch and the head, coordinate by coordinate (smooth apart from ReLU kinks).
        for p in [net.head.weight, net.head.bias, net.meta1.weight, net.meta2.bias] {
            let j = params.firstIndex { $0 === p }!
            for i in stride(from: 0, to: p.value.count, by: max(1, p.value.count / 7)) {
                let h: Float = 1e-3
                p.value[i] = base[j][i] + h; let up = loss()
                p.value[i] = base[j][i] - h; let down = loss()
                p.value[i] = base[j][i]
                XCTAssertEqual((up - down) / (2 * Double(h)), Double(grads[j][i]), accuracy: 2e-3, "\(p.name)[\(i)]")
            }
        }
        // The whole network along random directions (as the ResNet-18 check does).
        for trial in 0..<2 {
            let dirs = params.map { p in (0..<p.value.count).map { _ in rng.normal() } }
            var analytic = 0.0
            for (g, d) in zip(grads, dirs) { for i in 0..<g.count { analytic += Double(g[i]) * Double(d[i]) } }
            func shifted(_ h: Float) -> Double {
                for (j, p) in params.enumerated() { for i in 0..<p.value.count { p.value[i] = base[j][i] + h * dirs[j][i] } }
                return loss()
            }
            let h: Float = 1e-5
            let numeric = (shifted(h) - shifted(-h)) / (2 * Double(h))
            _ = shifted(0)
            XCTAssertEqual(numeric, analytic, accuracy: 2e-2 * abs(analytic), "direction \(trial)")
        }
    }

    func testDroppedImageGetsNoGradientAndMissingClaimUsesItsToken() {
        var rng = RNG(seed: 2)
        let net = makeNet()
        let x = Tensor([3, 2, 16, 16])
        for i in 0..<x.count { x[i] = rng.normal() }
        // With the image dropped, the logits do not depend on the image.
        let a = net.forward(x, meta: [1, FusionNet.missing], keepImage: [false, false], mode: .eval).array
        for i in 0..<x.count { x[i] = rng.normal() }
        let b = net.forward(x, meta: [1, FusionNet.missing], keepImage: [false, false], mode: .eval).array
        XCTAssertEqual(a, b)
        // Different claims give different logits; the missing token is its own input.
        XCTAssertNotEqual(Array(a[0..<3]), Array(a[3..<6]))
        XCTAssertEqual(net.meta1.inFeatures, 4)
    }

    func testParameterNamesArePrefixed() {
        let net = makeNet()
        let names = net.parameters.map { FusionNet.savedName($0, in: net) }
        XCTAssertEqual(names.first, "image_encoder.conv1.weight")
        XCTAssertTrue(names.contains("meta_encoder.0.weight") && names.contains("meta_encoder.2.bias"))
        XCTAssertEqual(Array(names.suffix(2)), ["head.weight", "head.bias"])
        XCTAssertFalse(names.contains { $0.hasPrefix("image_encoder.linear") }, "the image classifier's own head is not part of FusionNet")
        XCTAssertEqual(Set(names).count, names.count)
    }
}

extension FusionNetTests {
    func testSaveLoadRoundTripAndBadFiles() throws {
        var rng = RNG(seed: 8)
        let net = makeNet()
        let x = Tensor([3, 4, 16, 16])
        for i in 0..<x.count { x[i] = rng.normal() }
        let meta: [Int32] = [2, FusionNet.missing, 0, 1]
        _ = net.forward(x, meta: meta, mode: .train)   // moves the BN running statistics
        let want = net.forward(x, meta: meta, mode: .eval).array
        let dir = temporaryDirectory()
        let path = dir + "/fusion.safetensors"
        let info = FusionInfo(width: 2, classNames: ["a", "b", "c"], hidden: 8)
        try ModelIO.save(net, info: info, to: path)
        let (back, backInfo) = try ModelIO.loadFusion(path: path)
        XCTAssertEqual(backInfo, info)
        XCTAssertEqual(back.forward(x, meta: meta, mode: .eval).array, want)
        let st = try SafeTensors.load(path)
        XCTAssertEqual(st.metadata["architecture"], "fusionnet-cifar")
        XCTAssertNotNil(st.entry("image_encoder.bn1.num_batches_tracked"))
        // A plain ResNet-18 file is not a FusionNet, and the reverse.
        let resnet = dir + "/resnet.safetensors"
        try ModelIO.save(ResNet18(width: 2, numClasses: 3), info: ModelInfo(width: 2, classNames: ["a", "b", "c"]), to: resnet)
        XCTAssertThrowsError(try ModelIO.loadFusion(path: resnet)) { XCTAssertTrue("\($0)".contains("not fusionnet-cifar"), "\($0)") }
        XCTAssertThrowsError(try ModelIO.loadResNet(path: path)) { XCTAssertTrue("\($0)".contains(path), "\($0)") }
    }
}

extension FusionNetTests {
    func testTagsAgreeAtTheAskedRateAndContradictionsNeverAgree() {
        let labels = (0..<4000).map { Int32($0 % 5) }
        let t = metadataTags(labels: labels, classes: 5, agree: 0.8, seed: 1)
        let agree = Double(zip(t, labels).filter { $0 == $1 }.count) / 4000
        XCTAssertEqual(agree, 0.8, accuracy: 0.02)
        XCTAssertTrue(t.allSatisfy { (0..<5).contains($0) })
        let c = contradictingTags(labels: labels, classes: 5, seed: 2)
        XCTAssertTrue(zip(c, labels).allSatisfy { $0 != $1 })
        // every other class comes up
        XCTAssertEqual(Set(zip(c, labels).filter { $0.1 == 0 }.map { $0.0 }), [1, 2, 3, 4])
        XCTAssertEqual(metadataTags(labels: labels, classes: 5, agree: 1, seed: 3), labels)
    }

    /// The training loop learns from the metadata path: with labels unrelated to the images,
    /// only the claims carry the class, so the model must follow them, contradicting ones
    /// included, and drop to chance when they are missing.
    func testTrainingLearnsTheMetadataPath() throws {
        var ds = syntheticDataset(count: 128, classes: 4, size: 16, seed: 5)
        var rng = RNG(seed: 6)
        rng.shuffle(&ds.labels)   // images no longer predict the labels
        var cfg = FusionConfig()
        // Enough steps for batch norm's running statistics to settle (eval mode uses them), and
        // a margin: at 8 epochs another summation order in the weight gradient left 121 of 128.
        cfg.train.width = 2; cfg.train.epochs = 12; cfg.train.batchSize = 16; cfg.train.lr = 0.05
        cfg.hidden = 16
        let t = try FusionTrainer(config: cfg, train: ds)
        while !t.isFinished { t.runEpoch() }
        func agreement(_ meta: [Int32], _ with: [Int32]) -> Double {
            let p = FusionEvaluator.predicted(FusionEvaluator.probabilities(t.model, ds, meta: meta, normalization: .cifar10), classes: 4)
            return Double(zip(p, with).filter { $0 == $1 }.count) / Double(ds.count)
        }
        XCTAssertGreaterThan(agreement(ds.labels, ds.labels), 0.95)
        let wrong = contradictingTags(labels: ds.labels, classes: 4, seed: 9)
        XCTAssertGreaterThan(agreement(wrong, wrong), 0.95, "the claims are all it learned: it must follow them")
        let missing = [Int32](repeating: FusionNet.missing, count: ds.count)
        XCTAssertLessThan(agreement(missing, ds.labels), 0.5, "without claims it can only guess")
        // The audit's measures say the same: it follows the claims on conflicts, and loses
        // nothing when the images are shuffled, everything when the claims are.
        let r = ModalityConflict.measure(t.model, data: ds, normalization: .cifar10, seed: 1)
        XCTAssertGreaterThan(r.share(r.followedMetadata), 0.95)
        XCTAssertGreaterThan(r.consistentAccuracy, 0.95)
        XCTAssertGreaterThan(r.metadataReliance, 0.5)
        XCTAssertLessThan(abs(r.imageReliance), 0.05)
    }
}
