import XCTest
@testable import RobustCore

final class LabelAuditTests: XCTestCase {
    // MARK: noise injection

    func testSymmetricNoiseChangesExactlyTheRateAndEveryChosenLabel() throws {
        let labels = (0..<1000).map { Int32($0 % 10) }
        let n = try NoisyLabels.inject(labels, classNames: cifar10ClassNames, kind: .symmetric, rate: 0.2, seed: 3)
        XCTAssertEqual(n.truth, labels)
        XCTAssertEqual(n.mislabeledCount, 200)
        XCTAssertTrue(n.given.allSatisfy { (0..<10).contains($0) })
        // the new labels spread over the other classes: each of the 9 offsets appears
        var offsets = Set<Int>()
        for (g, t) in zip(n.given, n.truth) where g != t { offsets.insert((Int(g) - Int(t) + 10) % 10) }
        XCTAssertEqual(offsets, Set(1...9))
        // seeded: same seed same mask, another seed another mask
        XCTAssertEqual(try NoisyLabels.inject(labels, classNames: cifar10ClassNames, kind: .symmetric, rate: 0.2, seed: 3), n)
        XCTAssertNotEqual(try NoisyLabels.inject(labels, classNames: cifar10ClassNames, kind: .symmetric, rate: 0.2, seed: 4).given, n.given)
        XCTAssertEqual(try NoisyLabels.inject(labels, classNames: cifar10ClassNames, kind: .symmetric, rate: 0, seed: 3).mislabeledCount, 0)
        XCTAssertEqual(try NoisyLabels.inject(labels, classNames: cifar10ClassNames, kind: .symmetric, rate: 1, seed: 3).mislabeledCount, 1000)
    }

    func testAsymmetricNoiseFollowsTheCIFARPairs() throws {
        let labels = (0..<1000).map { Int32($0 % 10) }  // 100 per class
        let n = try NoisyLabels.inject(labels, classNames: cifar10ClassNames, kind: .asymmetric, rate: 0.4, seed: 1)
        let name = cifar10ClassNames
        var moved: [String: [String: Int]] = [:]
        for (g, t) in zip(n.given, n.truth) where g != t { moved[name[Int(t)], default: [:]][name[Int(g)], default: 0] += 1 }
        XCTAssertEqual(moved, ["truck": ["automobile": 40], "bird": ["airplane": 40], "cat": ["dog": 40],
                               "dog": ["cat": 40], "deer": ["horse": 40]])
        XCTAssertThrowsError(try NoisyLabels.inject([0, 1], classNames: ["x", "y"], kind: .asymmetric, rate: 0.2, seed: 0))
    }

    func testBadNoiseArgumentsThrow() {
        for rate in [-0.1, 1.5, .nan] {
            XCTAssertThrowsError(try NoisyLabels.inject([0, 1], classNames: ["a", "b"], kind: .symmetric, rate: rate, seed: 0))
        }
        XCTAssertThrowsError(try NoisyLabels.inject([0, 2], classNames: ["a", "b"], kind: .symmetric, rate: 0.5, seed: 0))
        XCTAssertThrowsError(try NoisyLabels.inject([0, 0], classNames: ["a"], kind: .symmetric, rate: 0.5, seed: 0))
    }

    // MARK: ranking measures

    func testGapClosedIsTheShareOfTheNoisyToCleanGap() {
        XCTAssertEqual(gapClosed(noisy: 0.82, cleaned: 0.84, clean: 0.86)!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(gapClosed(noisy: 0.80, cleaned: 0.90, clean: 0.90)!, 1, accuracy: 1e-12)
        XCTAssertEqual(gapClosed(noisy: 0.80, cleaned: 0.78, clean: 0.90)!, -0.2, accuracy: 1e-12)
        XCTAssertEqual(gapClosed(noisy: 0.80, cleaned: 0.95, clean: 0.90)!, 1.5, accuracy: 1e-12)
        // no gap: the true labels did not beat the noisy ones
        XCTAssertNil(gapClosed(noisy: 0.85, cleaned: 0.84, clean: 0.85))
        XCTAssertNil(gapClosed(noisy: 0.86, cleaned: 0.84, clean: 0.85))
        XCTAssertNil(gapClosed(noisy: .nan, cleaned: 0.84, clean: 0.85))
    }

    func testAUROCAgainstHandCountedPairs() {
        // positives 0.9, 0.4; negatives 0.5, 0.1, 0.4: pairs won 3 + (1 tie = 0.5) + 1 = 4.5 of 6
        XCTAssertEqual(auroc([0.9, 0.5, 0.4, 0.1, 0.4], positives: [true, false, true, false, false]), 4.5 / 6, accuracy: 1e-12)
        XCTAssertEqual(auroc([1, 2, 3, 4], positives: [false, false, true, true]), 1)
        XCTAssertEqual(auroc([1, 2, 3, 4], positives: [true, true, false, false]), 0)
        XCTAssertEqual(auroc([7, 7, 7, 7], positives: [true, false, true, false]), 0.5)
        XCTAssertTrue(auroc([1, 2], positives: [true, true]).isNaN)
        XCTAssertTrue(auroc([.nan, 2], positives: [true, false]).isNaN)
    }

    func testSetQuality() {
        let q = SetQuality(flagged: [0, 1, 2, 3], positives: [true, true, false, false, true, false])
        XCTAssertEqual(q.precision, 0.5)
        XCTAssertEqual(q.recall, 2.0 / 3)
        XCTAssertEqual(q.f1, 2 * 0.5 * (2.0 / 3) / (0.5 + 2.0 / 3), accuracy: 1e-12)
        XCTAssertEqual(SetQuality(flagged: [], positives: [true]).f1, 0)
    }

    // MARK: confident learning

    /// Three well-separated classes; the model is right about every sample, and 10 of 90
    /// given labels are wrong: the rule must flag exactly those and suggest the true class,
    /// without being told how many there are.
    func testConfidentLearningFindsTheFlippedLabelsWithoutTheRate() {
        let k = 3, n = 90
        let truth = (0..<n).map { Int32($0 % k) }
        var given = truth
        let flipped = [1, 5, 10, 22, 37, 41, 50, 63, 77, 88]
        for i in flipped { given[i] = (truth[i] + 1) % 3 }
        var p = [Float](repeating: 0.05, count: n * k)
        for i in 0..<n {
            // confident, not identical (0.85 .. 0.86 on the true class): every sample clears
            // its true class's threshold, the mean self-confidence, which the wrong labels lower
            p[i * k + Int(truth[i])] = 0.85 + 0.01 * Float(i % 7) / 7
            let rest = (1 - p[i * k + Int(truth[i])]) / 2
            for j in 0..<k where j != Int(truth[i]) { p[i * k + j] = rest }
        }
        let r = ConfidentLearning.findIssues(probabilities: p, given: given, numClasses: k)
        XCTAssertEqual(Set(r.flagged), Set(flipped))
        for i in flipped { XCTAssertEqual(r.suggested[i], truth[i]) }
        XCTAssertEqual(r.estimatedPerClass.reduce(0, +), flipped.count)
        // ranked: the first flag has the highest score
        XCTAssertEqual(r.flagged.map { r.score[$0] }, r.flagged.map { r.score[$0] }.sorted(by: >))
    }

    /// Structured noise: two images of class 0 labeled 1 (the model leans to 0), and two
    /// hard but correctly labeled images of class 1 the model finds unlikely without leaning
    /// to any class it is sure of. The joint counts two wrong labels in cell (1, 0). By class,
    /// the two lowest self-confidences in class 1 are the hard images; by noise rate, the two
    /// largest p_0 - p_1 are the wrong labels; both: neither.
    func testPruneFiltersFollowTheJointOrTheClass() {
        let k = 3
        var rows: [[Float]] = [], given: [Int32] = []
        for _ in 0..<10 { rows.append([0.55, 0.3, 0.15]); given.append(0) }  // class 0, t0 = 0.55
        for _ in 0..<10 { rows.append([0.05, 0.9, 0.05]); given.append(1) }
        for _ in 0..<10 { rows.append([0.1, 0.1, 0.8]); given.append(2) }    // t2 = 0.8
        let wrong = [30, 31], hard = [32, 33]
        rows += [[0.6, 0.35, 0.05], [0.6, 0.35, 0.05]]; given += [1, 1]     // truly 0: p0 >= t0
        rows += [[0.25, 0.3, 0.45], [0.25, 0.3, 0.45]]; given += [1, 1]     // truly 1, no class sure
        let p = rows.flatMap { $0 }
        let byClass = ConfidentLearning.findIssues(probabilities: p, given: given, numClasses: k)
        XCTAssertEqual(byClass.joint[1][0], 2)
        XCTAssertEqual(byClass.estimatedPerClass, [0, 2, 0])
        XCTAssertEqual(Set(byClass.flagged), Set(hard))
        let byRate = ConfidentLearning.findIssues(probabilities: p, given: given, numClasses: k, filter: .byNoiseRate)
        XCTAssertEqual(Set(byRate.flagged), Set(wrong))
        for i in wrong { XCTAssertEqual(byRate.suggested[i], 0) }
        XCTAssertTrue(ConfidentLearning.findIssues(probabilities: p, given: given, numClasses: k, filter: .both).flagged.isEmpty)
        // A row's cells are cut to the half-class cap together: 6 + 6 against a cap of 6 takes
        // 3 per cell (cell (1,0): both wrong labels, then a hard image; cell (1,2): both hard
        // images, then a wrong label), and a sample picked twice counts once.
        let capped = ConfidentLearning.pruneByNoiseRate(joint: [[0, 0, 0], [6, 0, 6], [0, 0, 0]], perClass: [0, 6, 0],
                                                        probabilities: p, given: given, score: byClass.score)
        XCTAssertEqual(Set(capped), Set(wrong + hard))
        XCTAssertEqual(capped.count, 4)
    }

    func testConfidentLearningFlagsAtMostHalfAClassForAChanceModel() {
        let k = 4, n = 200
        let given = (0..<n).map { Int32($0 % k) }
        var rng = RNG(seed: 5)
        var p = [Float](repeating: 0, count: n * k)
        for i in 0..<n {
            var s: Float = 0
            for j in 0..<k { p[i * k + j] = 1 + 0.01 * rng.uniform(); s += p[i * k + j] }
            for j in 0..<k { p[i * k + j] /= s }
        }
        let r = ConfidentLearning.findIssues(probabilities: p, given: given, numClasses: k)
        for c in 0..<k { XCTAssertLessThanOrEqual(r.estimatedPerClass[c], 25) }
    }

    // MARK: dynamics and scores

    func testDynamicsRecordsWhatTheLogitsSay() throws {
        let d = TrainingDynamics(given: [0, 1], numClasses: 3)
        // epoch 1: sample 0 right (logits 2,0,0), sample 1 wrong (predicts 2)
        d.beginEpoch()
        d.record(allLogits: [2, 0, 0, 0, 1, 3])
        d.endEpoch()
        // epoch 2: sample 0 forgotten (predicts 1), sample 1 learned
        d.beginEpoch()
        d.record(allLogits: [0, 1, 0, 0, 4, 0])
        d.endEpoch()
        XCTAssertEqual(d.epochs, 2)
        let e = Float(M_E), e2 = e * e
        XCTAssertEqual(d.probGiven[0][0], e2 / (e2 + 2), accuracy: 1e-6)
        XCTAssertEqual(d.logitMargin[0][0], 2)
        XCTAssertEqual(d.logitMargin[0][1], -2)
        XCTAssertEqual(d.logitMargin[1][0], -1)
        XCTAssertEqual(d.predicted[0], [0, 2])
        XCTAssertEqual(d.predicted[1], [1, 1])
        let s = Dictionary(uniqueKeysWithValues: LabelScores.compute(d).map { ($0.name, $0.values) })
        XCTAssertEqual(Set(s.keys), Set(LabelScores.names))
        XCTAssertEqual(s["aum"]!, [-(2 - 1) / 2, -(-2 + 4) / 2])
        XCTAssertEqual(s["forgetting"]!, [1, 0])
        XCTAssertEqual(s["self_confidence"]![1], 1 - d.probGiven[1][1], accuracy: 1e-7)
        let h = -(0..<3).map { j -> Float in let p = d.meanProbabilities[j]; return p * logf(p) }.reduce(0, +)
        XCTAssertGreaterThan(h, 0)
        XCTAssertEqual(s["entropy"]![0], d.entropy[1][0])
        // a never-learned sample counts as forgotten every epoch
        let never = TrainingDynamics(given: [0], numClasses: 2)
        for _ in 0..<3 { never.beginEpoch(); never.record(allLogits: [0, 1]); never.endEpoch() }
        XCTAssertEqual(LabelScores.compute(never).first { $0.name == "forgetting" }!.values, [3])
    }

    func testLabelWaveEpochIsTheFirstMinimumOfTheMovingAverage() {
        // moving averages (k = 3): 10, 5, 5, 6.67, 6.67; the first rise follows the 5 that
        // averages changes[2...4], which land on epochs 4-6: the wave epoch is 6.
        XCTAssertEqual(LabelWave.movingAverage([15, 10, 5, 0, 10, 10, 0]), [10, 5, 5, 20.0 / 3, 20.0 / 3])
        XCTAssertEqual(LabelWave.epoch(changes: [15, 10, 5, 0, 10, 10, 0]), 6)
        XCTAssertEqual(LabelWave.epoch(changes: [9, 1, 1, 1, 0]), nil, "a curve that only falls (or stays) has no wave")
        XCTAssertEqual(LabelWave.epoch(changes: [1, 2]), nil, "fewer changes than the window")
        XCTAssertEqual(LabelWave.epoch(changes: [3, 1, 2, 7], k: 1), 3, "k 1: the raw minimum")
    }

    /// Dynamics of a made-up run: 100 samples, 2 classes, the last 20 mislabeled, 8 epochs.
    /// `wrongClean[e]`: clean samples 0..<n predicted wrong in epoch e; `fitted[e]`: mislabeled
    /// samples predicted as their (wrong) given label, the others as their true class.
    private func madeUpDynamics(wrongClean: [Int], fitted: [Int]) -> TrainingDynamics {
        let given = (0..<100).map { Int32($0 % 2) }
        let d = TrainingDynamics(given: given, numClasses: 2)
        for e in 0..<8 {
            d.beginEpoch()
            for i in 0..<100 {
                let y = Int(given[i])
                let right = i >= 80 ? i - 80 < fitted[e] : i >= wrongClean[e]
                var z: [Float] = [0, 0]
                z[right ? y : 1 - y] = 2.2  // p = 0.9
                z.withUnsafeBufferPointer { d.record(sample: i, logits: $0.baseAddress!) }
            }
            d.endEpoch()
        }
        return d
    }

    func testAutoWindowLeavesTheFinalOutputsOnlyAfterMemorization() {
        // clean samples learned group by group, then the mislabeled ones fitted in epochs 6-8
        let m = madeUpDynamics(wrongClean: [30, 15, 5, 0, 0, 0, 0, 0], fitted: [0, 0, 0, 0, 0, 10, 20, 20])
        XCTAssertEqual(m.predictionChanges, [15, 10, 5, 0, 10, 10, 0])
        let check = LabelWave.memorization(m)
        XCTAssertEqual(check.waveEpoch, 6)
        // the early window (epochs 1-6) flags the 20 mislabeled samples (mean p(given) 0.23
        // or 0.1) and four of the five clean ones that were wrong in half its epochs (0.5):
        // 24, of which the 20 are fitted at the end
        XCTAssertEqual(Set(LabelAudit.issues(m, window: .early).flagged), Set(80..<100).union(0..<4))
        XCTAssertEqual(check.flaggedAtWave, 24)
        XCTAssertEqual(check.fittedShare, 1, "the clean ones are predicted as their given label at the end too")
        XCTAssertEqual(check.flaggedAtEnd, 0, "the final outputs gave up every flag")
        XCTAssertTrue(check.detected)
        XCTAssertEqual(m.resolvedWindow(.auto), .early)
        XCTAssertEqual(m.resolvedWindow(.auto, memorization: check), .early)
        XCTAssertEqual(m.resolvedWindow(.late), .late, "only auto resolves")
        XCTAssertEqual(m.ruleProbabilities(.auto), m.ruleProbabilities(.early))
        XCTAssertEqual(m.ruleProbabilities(.early), m.meanProbabilities(epochs: 0..<6))
        XCTAssertTrue(LabelAudit.issues(m, window: .last).flagged.isEmpty, "every given label fitted: the final outputs reject none")
        let flagged = Set(LabelAudit.issues(m, window: .auto).flagged)
        XCTAssertGreaterThanOrEqual(flagged.intersection(80..<100).count, 18, "the early window still rejects the wrong labels")
        XCTAssertLessThanOrEqual(flagged.subtracting(80..<100).count, 5)

        // no memorization: predictions only settle, no wave
        let n = madeUpDynamics(wrongClean: [30, 15, 5, 0, 0, 0, 0, 0], fitted: [Int](repeating: 0, count: 8))
        XCTAssertEqual(n.predictionChanges, [15, 10, 5, 0, 0, 0, 0])
        XCTAssertNil(LabelWave.memorization(n).waveEpoch)
        XCTAssertFalse(LabelWave.memorization(n).detected)
        XCTAssertEqual(n.ruleProbabilities(.auto), n.ruleProbabilities(.last))
        XCTAssertEqual(n.ruleProbabilities(.early), n.meanProbabilities, "no wave: the early window is every epoch")

        // a dip (ten clean samples forgotten in epochs 6-7 and learned again) makes a wave
        // too, but the mislabeled samples stay rejected: the final outputs are kept
        let dip = madeUpDynamics(wrongClean: [30, 15, 5, 0, 0, 10, 10, 0], fitted: [Int](repeating: 0, count: 8))
        XCTAssertEqual(dip.predictionChanges, [15, 10, 5, 0, 10, 0, 10])
        let dipCheck = LabelWave.memorization(dip)
        XCTAssertEqual(dipCheck.waveEpoch, 7)
        XCTAssertLessThan(dipCheck.fittedShare, 0.5)
        XCTAssertFalse(dipCheck.detected)
        XCTAssertEqual(dip.resolvedWindow(.auto), .last)
        XCTAssertEqual(dip.resolvedWindow(.early, memorization: dipCheck), .early)

        // a late start (what generated data did): for six epochs the network gets 20 clean
        // samples wrong and half the mislabeled ones "right" by chance, then learns the data
        // and rejects every wrong label. Its early window flags 20 clean samples and only 10
        // of the 20 wrong ones; the 20 clean ones are fitted at the end, so two thirds of the
        // early flags look memorized, but the final outputs still flag the 20 wrong labels:
        // no memorization, and the final outputs decide.
        let late = madeUpDynamics(wrongClean: [20, 20, 20, 20, 20, 20, 0, 0], fitted: [10, 10, 10, 10, 10, 10, 0, 0])
        XCTAssertEqual(late.predictionChanges, [0, 0, 0, 0, 0, 30, 0])
        let lateCheck = LabelWave.memorization(late)
        XCTAssertEqual(lateCheck.waveEpoch, 6)
        XCTAssertEqual(Set(LabelAudit.issues(late, window: .early).flagged), Set(0..<20).union(90..<100))
        XCTAssertEqual(lateCheck.flaggedAtWave, 30)
        XCTAssertEqual(lateCheck.fittedShare, 2.0 / 3, accuracy: 1e-12, "the fitted-share test alone would call this memorization")
        XCTAssertEqual(lateCheck.flaggedAtEnd, 20)
        XCTAssertFalse(lateCheck.detected, "the final outputs still flag two thirds as many as the early window")
        XCTAssertEqual(Set(LabelAudit.issues(late, window: .auto).flagged), Set(80..<100))
        XCTAssertEqual(dip.ruleProbabilities(.auto), dip.ruleProbabilities(.last))
        XCTAssertGreaterThanOrEqual(Set(LabelAudit.issues(dip, window: .auto).flagged).intersection(80..<100).count, 18)
    }

    func testArgmaxIsRelativeToTheRowAndTakesTheFirstTie() {
        let m: [Float] = [0.1, 0.7, 0.2,   0.4, 0.4, 0.2,   0, 0, 1]
        XCTAssertEqual(argmax(m[3..<6]), 0, "the first of two equal maxima, counted from the row's start")
        XCTAssertEqual(argmax(m[6..<9]), 2)
        XCTAssertEqual(rowArgmax(m, width: 3), [1, 0, 2])
        XCTAssertEqual(rowArgmax([-3, -1, -2], width: 3), [1], "negative logits")
    }

    func testDynamicsFileRoundTrips() throws {
        let d = TrainingDynamics(given: [0, 1, 1], numClasses: 2)
        d.beginEpoch(); d.record(allLogits: [1, 0, 0, 1, 2, 0]); d.endEpoch()
        let path = temporaryDirectory() + "/d.safetensors"
        try d.write(path, truth: [0, 1, 0], metadata: ["dynamics_pass": "eval"])
        let st = try SafeTensors.load(path)
        XCTAssertEqual(try st.floats("prob_given"), d.probGiven[0])
        XCTAssertEqual(try st.int64s("mislabeled"), [0, 0, 1])
        XCTAssertEqual(st.entry("entropy")?.shape, [1, 3])
        XCTAssertEqual(st.metadata["dynamics_pass"], "eval")
        XCTAssertNil(st.entry("prediction_changes"), "one epoch: no changes yet")
        d.beginEpoch(); d.record(allLogits: [0, 1, 0, 1, 2, 0]); d.endEpoch()
        try d.write(path, truth: nil)
        XCTAssertEqual(try SafeTensors.load(path).int64s("prediction_changes"), [1])
    }

    /// End to end on generated data: with 30% of labels flipped, a few epochs of training
    /// already rank the flipped samples far above chance, on both recording passes.
    func testAuditFindsFlippedLabelsOnLearnableData() throws {
        let (train, noisy) = try noisySyntheticTrainingSet(count: 240, seed: 11, rate: 0.3, noiseSeed: 2)
        for pass in DynamicsPass.allCases {
            var cfg = TrainConfig()
            cfg.width = 4; cfg.epochs = 6; cfg.batchSize = 32; cfg.lr = 0.05
            let rec = DynamicsRecorder(trainer: Trainer(config: cfg, train: train, test: nil), pass: pass)
            while !rec.trainer.isFinished { _ = rec.runEpoch() }
            XCTAssertEqual(rec.dynamics.epochs, 6)
            let r = LabelAudit.report(rec.dynamics, noise: noisy, testAccuracy: nil)
            XCTAssertGreaterThan(r.score("confidence")!.auroc, 0.8, "\(pass)")
            let issues = LabelAudit.issues(rec.dynamics, rankBy: "confidence")
            let q = SetQuality(flagged: issues.flagged, positives: noisy.isMislabeled)
            XCTAssertGreaterThan(q.precision, 0.5, "\(pass)")
            // cleaning by drop keeps the unflagged samples, by relabel keeps every sample
            let (dropped, kept) = LabelAudit.clean(train, issues: issues, relabel: false)
            XCTAssertEqual(dropped.count, train.count - issues.flagged.count)
            XCTAssertTrue(Set(kept).isDisjoint(with: issues.flagged))
            let (relabeled, _) = LabelAudit.clean(train, issues: issues, relabel: true)
            XCTAssertEqual(relabeled.count, train.count)
            for i in issues.flagged { XCTAssertEqual(relabeled.labels[i], issues.suggested[i]) }
        }
    }

    func testReplacingTheTrainingSetKeepsTheScheduleShape() {
        let ds = syntheticDataset(count: 64, classes: 4, size: 8)
        var cfg = TrainConfig()
        cfg.width = 2; cfg.epochs = 4; cfg.batchSize = 16
        let t = Trainer(config: cfg, train: ds, test: nil)
        _ = t.runEpoch()
        let lrBefore = t.learningRate(atStep: t.step)
        t.replaceTrainingSet(ds.subset(Array(0..<32)))  // 2 steps an epoch instead of 4
        XCTAssertEqual(t.learningRate(atStep: t.step), lrBefore)  // continuous
        XCTAssertEqual(t.learningRate(atStep: t.step + 1), t.schedule.lr(at: 6))  // stretched x2
        while !t.isFinished { _ = t.runEpoch() }
        XCTAssertEqual(t.step, 4 + 3 * 2)
        XCTAssertEqual(t.learningRate(atStep: t.step), 0)  // the cosine still ends at zero
    }

    // MARK: cross-validation

    func testFoldsAreStratifiedAndSeeded() {
        let labels = (0..<300).map { Int32($0 % 3) }
        let f = CrossValidation.folds(labels: labels, k: 4, seed: 9)
        for c in 0..<3 {
            var per = [Int](repeating: 0, count: 4)
            for i in labels.indices where labels[i] == Int32(c) { per[f[i]] += 1 }
            XCTAssertLessThanOrEqual(per.max()! - per.min()!, 1)  // 100 -> 25 per fold
        }
        XCTAssertEqual(CrossValidation.folds(labels: labels, k: 4, seed: 9), f)
        XCTAssertNotEqual(CrossValidation.folds(labels: labels, k: 4, seed: 10), f)
    }

    /// Out-of-sample: a sample's row comes from a model that did not train on it. A model
    /// that memorizes its training set would vouch for a flipped label in sample; out of
    /// sample it cannot, so the rows are proper distributions and the flipped labels get low
    /// out-of-sample confidence.
    func testOutOfSampleProbabilities() throws {
        let (train, noisy) = try noisySyntheticTrainingSet(count: 160, seed: 12, rate: 0.25, noiseSeed: 1)
        var cfg = TrainConfig()
        cfg.width = 4; cfg.epochs = 5; cfg.batchSize = 32; cfg.lr = 0.05
        let p = CrossValidation.outOfSampleProbabilities(train, config: cfg, folds: 2)
        XCTAssertEqual(p.count, 160 * 4)
        for i in 0..<160 { XCTAssertEqual(p[(i * 4)..<(i * 4 + 4)].reduce(0, +), 1, accuracy: 1e-4) }
        let selfConf = (0..<160).map { 1 - p[$0 * 4 + Int(noisy.given[$0])] }
        XCTAssertGreaterThan(auroc(selfConf, positives: noisy.isMislabeled), 0.75)
    }

    // MARK: ensemble

    /// Each member is an ordinary training under its own seed, scored by a flip-averaged
    /// pass: member 1 equals that training done by hand, member 2 differs from it, and the
    /// ensemble's table is the mean of the members' (rows stay distributions).
    func testEnsembleMembersAreSeededTrainingsAndAverage() throws {
        let (train, _) = try noisySyntheticTrainingSet(count: 96, seed: 5, rate: 0.25, noiseSeed: 2)
        var cfg = TrainConfig()
        cfg.width = 4; cfg.epochs = 2; cfg.batchSize = 32; cfg.lr = 0.05; cfg.seed = 3
        var epochs: [Int] = [], saved: [Int] = [], scoring: [[Int]] = []
        let members = AuditEnsemble.trainMembers(train, config: cfg, members: 2, onEpoch: { m, _ in epochs.append(m) },
                                                     onScoring: { m, done, total in scoring.append([m, done, total]) },
                                                     afterMember: { m, t in saved.append(m); XCTAssertTrue(t.isFinished) })
        XCTAssertEqual(members.count, 2)
        XCTAssertEqual(epochs, [1, 1, 2, 2])
        XCTAssertEqual(saved, [1, 2])
        // The final pass reports once per batch (96 images: one batch of 256) for each member.
        XCTAssertEqual(scoring, [[1, 96, 96], [2, 96, 96]])

        var byHand = cfg
        byHand.seed = AuditEnsemble.memberSeed(cfg.seed, member: 1)
        // Members of ensembles around seeds 0...9 are ten different trainings each, and none
        // is an audited run (whose seed is the seed itself).
        var seeds = Set<UInt64>()
        for s in 0..<UInt64(10) { for m in 1...10 { seeds.insert(AuditEnsemble.memberSeed(s, member: m)) } }
        XCTAssertEqual(seeds.count, 100)
        XCTAssertTrue(seeds.isDisjoint(with: (0..<UInt64(10))))
        let t = Trainer(config: byHand, train: train, test: nil)
        while !t.isFinished { _ = t.runEpoch() }
        let p = Evaluator.predict(t.model, train, normalization: .cifar10, views: 2).probabilities
        for i in p.indices { XCTAssertEqual(members[0][i], p[i], accuracy: 1e-5) }
        XCTAssertGreaterThan(zip(members[0], members[1]).map { abs($0 - $1) }.max()!, 1e-3)

        let avg = AuditEnsemble.average(members)
        for i in avg.indices { XCTAssertEqual(avg[i], (members[0][i] + members[1][i]) / 2, accuracy: 1e-6) }
        for r in 0..<train.count { XCTAssertEqual(avg[(r * 4)..<(r * 4 + 4)].reduce(0, +), 1, accuracy: 1e-4) }
        let three = AuditEnsemble.average([[0.2, 0.8], [0.6, 0.4], [1, 0]])
        XCTAssertEqual(three[0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(three[1], 0.4, accuracy: 1e-6)
        XCTAssertTrue(try AuditEnsemble.trainMembers(train, config: cfg, members: 0).isEmpty)
    }
}
