import XCTest
@testable import RobustCore

/// The modality-conflict measures, staged training from a trained encoder, and serving a
/// FusionNet through Classifier (the C ABI's path).
final class FusionAuditTests: XCTestCase {
    /// A model whose head gives the claims no weight: every condition predicts the same, so
    /// the measures reduce to counts that can be written down from the image-only predictions.
    func testMeasuresOfAModelThatIgnoresClaims() {
        let ds = syntheticDataset(count: 40, classes: 3, size: 16, seed: 2)
        let net = FusionNet(width: 2, numClasses: 3, hidden: 8)
        net.initialize(seed: 4)
        let f = net.featureCount
        for r in 0..<3 { for c in f..<(f + 8) { net.head.weight.value[r * (f + 8) + c] = 0 } }
        net.head.weight.markModified()
        let r = ModalityConflict.measure(net, data: ds, normalization: .cifar10, seed: 5)
        XCTAssertEqual(r.images, 40)
        XCTAssertEqual(r.conflictPredicted, r.imageOnlyPredicted)
        XCTAssertEqual(r.consistentPredicted, r.imageOnlyPredicted)
        XCTAssertEqual(r.metadataReliance, 0)
        XCTAssertEqual(r.consistentAccuracy, r.imageOnlyAccuracy)
        let p = r.imageOnlyPredicted
        XCTAssertEqual(r.followedMetadata, (0..<40).filter { p[$0] == r.conflictClaims[$0] }.count)
        XCTAssertEqual(r.followedImage, (0..<40).filter { p[$0] == ds.labels[$0] }.count)
        XCTAssertEqual(r.followedMetadata + r.followedImage + r.neither, 40)
        XCTAssertEqual(r.followedImageWhereImageOnlyRight, r.imageOnlyRight)
        XCTAssertTrue(zip(r.conflictClaims, ds.labels).allSatisfy { $0 != $1 })
        // Shuffling the images moves the predictions away from the labels that stay with the claims.
        var perm = Array(0..<40)
        var rng = RNG.derived(seed: 5, 0x9E3B)
        rng.shuffle(&perm)
        XCTAssertEqual(r.imagePermutedAccuracy, Double((0..<40).filter { p[$0] == ds.labels[perm[$0]] }.count) / 40)
    }

    func testVerdictCountsJudgeClaimsAgainstTheGivenProbabilities() {
        let probs: [Float] = [0.9, 0.05, 0.05,   // claim 0: consistent; claim 1: conflict
                              0.4, 0.35, 0.25]   // claim 1: uncertain (no class at 0.5)
        let a = ModalityConflict.verdictCounts(probabilities: probs, claims: [0, 1], classes: 3)
        XCTAssertEqual(a[.consistent], 1); XCTAssertEqual(a[.uncertain], 1); XCTAssertEqual(a[.conflict], 0)
        let b = ModalityConflict.verdictCounts(probabilities: probs, claims: [1, 0], classes: 3)
        XCTAssertEqual(b[.conflict], 1); XCTAssertEqual(b[.consistent], 1)
    }

    /// Staged training: the encoder starts as the given network and, frozen, stays exactly it;
    /// the head learns.
    func testFrozenEncoderStartsFromTheGivenWeightsAndStaysFixed() throws {
        let ds = syntheticDataset(count: 64, classes: 4, size: 16, seed: 3)
        let encoder = ResNet18(width: 2, numClasses: 4)
        encoder.initialize(seed: 11)
        let x = Tensor([3, 4, 16, 16])
        var rng = RNG(seed: 1)
        for i in 0..<x.count { x[i] = rng.normal() }
        _ = encoder.forward(x, mode: .train)   // non-default running statistics
        var cfg = FusionConfig()
        cfg.train.width = 2; cfg.train.epochs = 2; cfg.train.batchSize = 16; cfg.hidden = 8
        cfg.freezeImage = true
        let t = try FusionTrainer(config: cfg, train: ds, imageEncoder: encoder)
        let headBefore = t.model.head.weight.value.array
        while !t.isFinished { t.runEpoch() }
        for (a, b) in zip(t.model.image.encoderParameters, encoder.encoderParameters) {
            XCTAssertEqual(a.value.array, b.value.array, a.name)
        }
        XCTAssertNotEqual(t.model.head.weight.value.array, headBefore)
        XCTAssertEqual(t.model.image.encode(x, mode: .eval).array, encoder.encode(x, mode: .eval).array)
        // Unfrozen, it starts from the same weights and then trains them.
        cfg.freezeImage = false
        let u = try FusionTrainer(config: cfg, train: ds, imageEncoder: encoder)
        XCTAssertEqual(u.model.image.encode(x, mode: .eval).array, encoder.encode(x, mode: .eval).array)
        // Misfits and a frozen random encoder are refused.
        XCTAssertThrowsError(try FusionTrainer(config: cfg, train: ds, imageEncoder: ResNet18(width: 4, numClasses: 4)))
        cfg.freezeImage = true
        XCTAssertThrowsError(try FusionTrainer(config: cfg, train: ds))
    }

    /// Classifier serves a FusionNet file: scores come from the image-only path and the fused
    /// path uses the claims, both equal to the evaluator's outputs on the same pixels.
    func testClassifierServesAFusionNetThroughItsImageOnlyPath() throws {
        let ds = syntheticDataset(count: 6, classes: 3, size: 32, seed: 9)
        let net = FusionNet(width: 2, numClasses: 3, hidden: 8)
        net.initialize(seed: 7)
        let path = temporaryDirectory() + "/fusion.safetensors"
        try ModelIO.save(net, info: FusionInfo(width: 2, classNames: ["a", "b", "c"], hidden: 8), to: path)
        let clf = try Classifier(path: path)
        XCTAssertTrue(clf.hasMetadata)
        XCTAssertEqual(clf.info.architecture, "fusionnet-cifar")
        let images = (0..<6).map { i in
            RGBImage(width: 32, height: 32, pixels: Array(ds.pixels[(i * 32 * 32 * 3)..<((i + 1) * 32 * 32 * 3)]))
        }
        let claims: [Int?] = [0, 1, 2, nil, 1, 0]
        let out = try clf.scoreWithMetadata(images, claimed: claims)
        let missing = [Int32](repeating: FusionNet.missing, count: 6)
        let imageOnly = FusionEvaluator.probabilities(net, ds, meta: missing, normalization: .cifar10)
        let fused = FusionEvaluator.probabilities(net, ds, meta: claims.map { $0.map(Int32.init) ?? FusionNet.missing }, normalization: .cifar10)
        for i in 0..<6 {
            for j in 0..<3 {
                XCTAssertEqual(out[i].image.probabilities[j], imageOnly[i * 3 + j], accuracy: 1e-6)
                XCTAssertEqual(out[i].fused!.probabilities[j], fused[i * 3 + j], accuracy: 1e-6)
            }
            XCTAssertEqual(out[i].image.claimed, claims[i])
        }
        XCTAssertEqual(try clf.score(images, claimed: claims).map(\.probabilities), out.map(\.image.probabilities))
        // A ResNet-18 has no fused path.
        let rpath = temporaryDirectory() + "/resnet.safetensors"
        try ModelIO.save(ResNet18(width: 2, numClasses: 3), info: ModelInfo(width: 2, classNames: ["a", "b", "c"]), to: rpath)
        let plain = try Classifier(path: rpath)
        XCTAssertFalse(plain.hasMetadata)
        XCTAssertNil(try plain.scoreWithMetadata(images, claimed: claims)[0].fused)
    }

    func testStackedBarChartShowsEveryRowAndSegment() {
        let svg = SVGChart.stackedBars(title: "t", rows: ["r1", "r<2"], segments: ["meta", "image", "neither"],
                                       values: [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1]], markers: ("image-only accuracy", [0.5, 0.75]))
        XCTAssertTrue(svg.hasPrefix("<svg"))
        XCTAssertTrue(svg.contains(">r1<") && svg.contains("r&lt;2"))
        XCTAssertTrue(svg.contains(">80<") && svg.contains(">70<"))
        XCTAssertEqual(svg.split(separator: "\n").filter { $0.contains("stroke-width='3'") }.count, 3)   // two markers + legend
    }
}
