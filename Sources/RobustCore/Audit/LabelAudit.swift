// The label audit: train while recording dynamics, score every sample, decide which labels
// to flag without knowing the noise rate, and (in experiments with a known noise mask)
// measure how well each score and the decision did.

/// Trains a Trainer epoch by epoch and records the training dynamics of its training set.
public final class DynamicsRecorder: @unchecked Sendable {
    public let trainer: Trainer
    public let pass: DynamicsPass
    public let dynamics: TrainingDynamics

    public init(trainer: Trainer, pass: DynamicsPass) {
        self.trainer = trainer
        self.pass = pass
        let k = trainer.model.numClasses
        let d = TrainingDynamics(given: trainer.train.labels, numClasses: k)
        dynamics = d
        if pass == .train {
            trainer.onTrainingLogits = { idx, logits in
                for (j, i) in idx.enumerated() { d.record(sample: i, logits: logits.data + j * k) }
            }
        }
    }

    /// One training epoch, then its dynamics (a clean pass over the training set for `.eval`).
    public func runEpoch(progress: ((StepProgress) -> Void)? = nil) -> EpochLog {
        if pass == .train { dynamics.beginEpoch() }
        let log = trainer.runEpoch(progress: progress)
        if pass == .eval {
            dynamics.beginEpoch()
            dynamics.record(allLogits: Evaluator.logits(trainer.model, trainer.train, normalization: trainer.info.normalization))
        }
        dynamics.endEpoch()
        return log
    }

    /// Stops recording (training may go on without it) and runs one clean pass over the
    /// training set, averaged over `views` test-time views (TestTimeViews; 2: each image and
    /// its mirror image), which the decision rule's `.last` window uses: eval-mode, a little
    /// better calibrated than one view.
    public func finish(views: Int = 2) {
        trainer.onTrainingLogits = nil
        guard dynamics.finalCleanPass == nil else { return }
        dynamics.finalCleanPass = Evaluator.predict(trainer.model, trainer.train, normalization: trainer.info.normalization,
                                                    views: views).probabilities
    }
}

/// How one score did against a known noise mask.
public struct ScoreQuality: Sendable {
    public var name: String
    public var auroc: Double
    /// The set the rate-free rule flags when it ranks by this score.
    public var flaggedSet: SetQuality
}

/// One epoch of a label-noise experiment.
public struct NoiseEpochReport: Sendable {
    public var epoch: Int
    public var testAccuracy: Double?
    /// Accuracy against the given (noisy) labels on the recorded pass.
    public var fitGiven: Double
    public var meanEntropyClean: Double, meanEntropyMislabeled: Double
    /// Share of mislabeled samples predicted as their wrong given label (memorized) and as
    /// their true label (recovered).
    public var memorized: Double, recovered: Double
    public var scores: [ScoreQuality]
    /// Confident learning's estimate of the number of wrong labels.
    public var estimatedNoisy: Int
    /// Samples whose predicted class changed since the previous epoch (nil after the first).
    public var predictionChanges: Int?
    /// The rule's flagged set (ranked by its probabilities' margin) for each window.
    public var rule: [(window: RuleWindow, set: SetQuality, estimated: Int)]

    public func score(_ name: String) -> ScoreQuality? { scores.first { $0.name == name } }
}

public enum LabelAudit {
    /// The rate-free decision on the dynamics so far: confident learning on the epoch-averaged
    /// probabilities, ranked within each class by `rankBy` (a LabelScores name).
    /// `rankBy` nil ranks by the window's own self-confidence.
    public static func issues(_ d: TrainingDynamics, window: RuleWindow = .last, rankBy: String? = nil,
                              filter: PruneFilter = .byClass) -> LabelIssues {
        var rank: [Float]?
        if let name = rankBy {
            rank = LabelScores.compute(d).first { $0.name == name }?.values
            precondition(rank != nil, "unknown score \(name)")
        }
        return ConfidentLearning.findIssues(probabilities: d.ruleProbabilities(window), given: d.given,
                                            numClasses: d.numClasses, rankBy: rank, filter: filter)
    }

    /// Scores the dynamics so far against the noise mask.
    /// Each score's flagged set takes its per-class counts from the rule on `window`.
    public static func report(_ d: TrainingDynamics, noise: NoisyLabels, testAccuracy: Double?,
                              window: RuleWindow = .last, filter: PruneFilter = .byClass) -> NoiseEpochReport {
        let last = d.epochs - 1
        let bad = noise.isMislabeled
        var hClean = 0.0, hBad = 0.0, nBad = 0, mem = 0, rec = 0, fit = 0
        for i in 0..<d.count {
            let pred = d.predicted[last][i]
            if pred == noise.given[i] { fit += 1 }
            if bad[i] {
                hBad += Double(d.entropy[last][i]); nBad += 1
                if pred == noise.given[i] { mem += 1 }
                if pred == noise.truth[i] { rec += 1 }
            } else {
                hClean += Double(d.entropy[last][i])
            }
        }
        let nClean = d.count - nBad
        let decisions = RuleWindow.allCases.map { ($0, issues(d, window: $0, filter: filter)) }
        let rule = decisions.map { w, r in (window: w, set: SetQuality(flagged: r.flagged, positives: bad),
                                            estimated: r.estimatedPerClass.reduce(0, +)) }
        let base = decisions.first { $0.0 == window }!.1
        let qualities = LabelScores.compute(d).map { s in
            ScoreQuality(name: s.name, auroc: auroc(s.values, positives: bad),
                         flaggedSet: SetQuality(flagged: ConfidentLearning.prune(perClass: base.estimatedPerClass, given: d.given, score: s.values),
                                                positives: bad))
        }
        return NoiseEpochReport(epoch: d.epochs, testAccuracy: testAccuracy, fitGiven: Double(fit) / Double(max(d.count, 1)),
                                meanEntropyClean: nClean > 0 ? hClean / Double(nClean) : .nan,
                                meanEntropyMislabeled: nBad > 0 ? hBad / Double(nBad) : .nan,
                                memorized: nBad > 0 ? Double(mem) / Double(nBad) : .nan,
                                recovered: nBad > 0 ? Double(rec) / Double(nBad) : .nan,
                                scores: qualities, estimatedNoisy: base.estimatedPerClass.reduce(0, +),
                                predictionChanges: d.predictionChanges.last, rule: rule)
    }

    /// The training set after cleaning: flagged samples dropped, or relabeled to their
    /// suggested class. Returns the new set and, per new sample, its index in `ds`.
    public static func clean(_ ds: Dataset, issues: LabelIssues, relabel: Bool) -> (Dataset, [Int]) {
        if relabel {
            var out = ds
            for i in issues.flagged { out.labels[i] = issues.suggested[i] }
            return (out, Array(0..<ds.count))
        }
        var keep = [Bool](repeating: true, count: ds.count)
        for i in issues.flagged { keep[i] = false }
        let kept = (0..<ds.count).filter { keep[$0] }
        return (ds.subset(kept), kept)
    }

    /// Soft relabeling: each flagged sample's target becomes the model's probabilities for it
    /// (`probabilities`, count x k: the decision's own), weighted by their largest value. A
    /// flagged sample the model is sure about counts almost fully under its likely class; one
    /// it hesitates over (often a hard but correctly labeled image) keeps part of its given
    /// label's mass and little weight, instead of being forced to a possibly wrong class or
    /// dropped. Unflagged samples keep weight 1 and the target
    /// (1 - teacherWeight) * onehot(given) + teacherWeight * probabilities: 0 keeps them
    /// one-hot; above 0 the new model also learns the audited model's view of which classes
    /// look alike (distillation).
    public static func softTargets(given: [Int32], numClasses k: Int, issues: LabelIssues,
                                   probabilities p: [Float], teacherWeight: Float = 0) -> LabelTargets {
        precondition(p.count == given.count * k)
        precondition(teacherWeight >= 0 && teacherWeight <= 1)
        var values = [Float](repeating: 0, count: given.count * k)
        var weights = [Float](repeating: 1, count: given.count)
        var flagged = [Bool](repeating: false, count: given.count)
        for i in issues.flagged { flagged[i] = true }
        for i in 0..<given.count {
            var s: Float = 0, mx: Float = 0
            for j in 0..<k { s += p[i * k + j] }
            for j in 0..<k {
                let q = s > 0 ? p[i * k + j] / s : 1 / Float(k)
                let v = flagged[i] ? q : (1 - teacherWeight) * (j == Int(given[i]) ? 1 : 0) + teacherWeight * q
                values[i * k + j] = v
                mx = max(mx, v)
            }
            if flagged[i] { weights[i] = mx }
        }
        // Rows were normalized above, so this cannot throw.
        return try! LabelTargets(values: values, numClasses: k, weights: weights)
    }
}
