// `audit-cli label-noise`: the study's label-noise experiment. Injects known noise, trains
// while recording dynamics, and measures per epoch how each score finds the wrong labels;
// optionally cleans the data when the early-learning window closes and trains on.
import ArgumentParser
import RobustCore

enum CleanMode: String, ExpressibleByArgument, CaseIterable {
    case drop, relabel, soft
}

/// Where the cleaned run starts when it cleans with the finished run's decision.
enum CleanStart: String, ExpressibleByArgument, CaseIterable {
    /// Fresh random weights: the cleaned run is a new model on the cleaned data.
    case scratch
    /// The audited model's weights, a fresh schedule: train on, as the early-learning design
    /// does, but after the whole run. The noisy model's features are kept and only what the
    /// cleaned targets change must be learned again.
    case audited
}

struct LabelNoise: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "label-noise",
        abstract: "Inject label noise, train while recording dynamics, and measure how well each score finds the wrong labels.")

    @OptionGroup var options: LabelTrainingOptions
    @Option(help: "Noise rate: the share of training labels changed (asymmetric: the share of each paired source class).") var noise = 0.2
    @Option(help: "Noise kind: symmetric (any other class) or asymmetric (the CIFAR-10 pairs).") var kind: NoiseKind = .symmetric
    @Option(help: "Seed of the noise mask.") var noiseSeed: UInt64 = 0
    @Option(help: "Output folder for CSV/JSON/dynamics (default: label-noise-KIND-RATE).") var out: String?
    @Option(help: "Auto-cleaning at --clean-epoch, then train on (also reports the uncleaned run): drop the flagged samples, relabel them to their suggested class, or soft-relabel them (the model's probabilities as the target, weighted by their largest value).")
    var clean: CleanMode?
    @Option(help: "Epoch after which cleaning happens and training goes on from that epoch's state; 0 (the default) cleans with the finished run's decision and starts a new run (see --clean-from).")
    var cleanEpoch = 0
    @Option(help: "With --clean-epoch 0: start the cleaned run from random weights (scratch) or from the audited model's (audited), with a fresh schedule of --epochs (scratch: of --clean-epochs if given).")
    var cleanFrom: CleanStart = .scratch
    @Flag(help: "Also train on the true labels with the cleaned run's recipe (--clean-width, --clean-epochs), for the accuracy gap (with --clean-from audited: from scratch, then on for --epochs more from that model, the cleaned model's compute).")
    var cleanReference = false
    @Flag(help: "With --clean-from audited: also train the audited model on for --epochs on its noisy labels, the cleaned run's compute without the cleaning, so the cleaning's own gain shows. With --elr-weight or --self-adaptive-from (no --clean): a plain run on the noisy labels from scratch, the same epochs, so the in-run correction's gain shows. With --clean-width or --clean-epochs other than the audited model's: a plain run of the cleaned recipe on the noisy labels, the noisy side of the gap.")
    var noisyControl = false
    @Option(help: "Width of the cleaned run (retrained from scratch) and of its controls, when it differs from the audited model's --width: audit with a wider model than the one you ship and train the shipped width on its soft targets (sym20-w32: a width-32 auditor's flags and soft targets lifted width-16 students to 64% of the gap over 5 seeds; its probabilities alone, 53%). Then --noisy-control trains a plain width-W run on the noisy labels, the noisy side of the gap.")
    var cleanWidth: Int?
    @Option(help: "Epochs of the cleaned run (retrained from scratch) and of its controls, when they differ from the audited model's --epochs: train the auditor longer than the model you ship (sym20-e30: width-16 auditors trained 30 epochs, 84.60% and 84.41% on the noisy labels, AUROC 0.9894, F1 0.88, lifted four width-16, 15-epoch students to 84.88% on average, 79% of the gap; but those auditors alone, plain 30-epoch runs, close 67%). Then --noisy-control trains a plain run of these epochs on the noisy labels, the noisy side of the gap.")
    var cleanEpochs: Int?
    @Option(help: "With --clean soft: weight of the model's probabilities in the unflagged samples' targets (0: one-hot; above 0: distillation).")
    var teacherWeight: Float = 0
    @OptionGroup var correction: CorrectionOptions

    /// The audited run corrects its labels while it trains (early-learning regularization or
    /// self-adaptive training).
    var inRunCorrection: Bool { correction.enabled || correction.earlyLearningEnabled }

    /// The cleaned run has another width than the audited model, so the audited run is not
    /// its noisy baseline.
    var otherCleanWidth: Bool { cleanWidth.map { $0 != options.width } ?? false }
    var otherCleanEpochs: Bool { cleanEpochs.map { $0 != options.epochs } ?? false }
    /// The cleaned run's recipe (width or epochs) differs from the audited model's, so the
    /// audited run is not its noisy baseline.
    var otherCleanRecipe: Bool { otherCleanWidth || otherCleanEpochs }

    func validate() throws {
        guard teacherWeight.isFinite, (0...1).contains(teacherWeight) else { throw ValidationError("--teacher-weight must lie in [0, 1]") }
        if teacherWeight != 0 && clean != .soft { throw ValidationError("--teacher-weight needs --clean soft") }
        try correction.check(epochs: options.epochs)
        guard noise.isFinite, (0...1).contains(noise) else { throw ValidationError("--noise must lie in [0, 1]") }
        if cleanEpoch < 0 || cleanEpoch >= options.epochs { throw ValidationError("--clean-epoch must lie in 0..<epochs") }
        if cleanFrom == .audited && (clean == nil || cleanEpoch > 0) {
            throw ValidationError("--clean-from audited needs --clean and --clean-epoch 0 (a run cleaned at --clean-epoch trains on from there anyway)")
        }
        if let w = cleanWidth, !(1...ModelInfo.maxWidth).contains(w) { throw ValidationError("--clean-width must lie in 1...\(ModelInfo.maxWidth)") }
        if let e = cleanEpochs, !(1...100_000).contains(e) { throw ValidationError("--clean-epochs must lie in 1...100000") }
        // Both change the recipe of a cleaned run retrained from scratch; a run that trains on
        // from a model keeps its width and takes --epochs more.
        for (option, given) in [("--clean-width", cleanWidth != nil), ("--clean-epochs", cleanEpochs != nil)]
        where given && (clean == nil || cleanEpoch > 0 || cleanFrom == .audited) {
            throw ValidationError("\(option) needs --clean with --clean-epoch 0 and --clean-from scratch (a run that trains on from a model keeps its width and takes --epochs more)")
        }
        if noisyControl && cleanFrom != .audited && !(inRunCorrection && clean == nil) && !otherCleanRecipe {
            throw ValidationError("--noisy-control is the control of --clean-from audited (a cleaned run from scratch has the noisy run's compute already), of --clean-width W other than --width or --clean-epochs E other than --epochs, or of --elr-weight or --self-adaptive-from without --clean")
        }
        if options.ensemble > 1 && correction.enabled {
            throw ValidationError("--ensemble with --self-adaptive-from: the extra members would train on the plain labels; audit one self-adaptive run, or an ensemble without it")
        }
        if options.ensemble > 1 && clean != nil && cleanEpoch > 0 {
            throw ValidationError("--ensemble with --clean-epoch: the members finish training after the cleaning epoch; clean with the finished run's decision (--clean-epoch 0)")
        }
        if options.ensemble > 1 && correction.earlyLearningEnabled {
            throw ValidationError("--ensemble with --elr-weight: the extra members would train without it; audit one regularized run, or an ensemble without it")
        }
        if options.folds >= 2 && correction.earlyLearningEnabled {
            throw ValidationError("--folds with --elr-weight: the fold models, which make the decision, would train without it; audit the regularized run alone")
        }
        if correction.earlyLearningEnabled && clean != nil && cleanEpoch > 0 {
            throw ValidationError("--elr-weight with --clean-epoch: the running predictions follow the full training set, which the cleaning replaces")
        }
        if correction.enabled && clean != nil && cleanEpoch > 0 {
            throw ValidationError("--self-adaptive-from with --clean-epoch: self-adaptive targets are not kept in the snapshot the cleaning resumes from")
        }
    }

    func run() throws {
        let t0 = monotonicSeconds()
        try reportingErrors {
            let outDir = out ?? "label-noise-\(kind.rawValue)-\(fmt(noise, 2))"
            try FileIO.makeDirectory(outDir)
            let (train, test) = try options.load()
            let cfg = try options.config()
            // The cleaned run, its noisy control and the reference share one recipe, at the
            // cleaned width and epochs.
            var cleanCfg = cfg
            cleanCfg.width = cleanWidth ?? cfg.width
            cleanCfg.epochs = cleanEpochs ?? cfg.epochs
            try cleanCfg.validate()
            let noisy = try NoisyLabels.inject(train.labels, classNames: train.classNames, kind: kind, rate: noise, seed: noiseSeed)
            var noisyTrain = train
            noisyTrain.labels = noisy.given
            try FileIO.writeAtomically(joinPath(outDir, "noise.csv"), text: noiseCSV(train, noisy))
            note("\(kind.rawValue) noise \(fmt(100 * noise, 1))%: \(noisy.mislabeledCount) of \(train.count) labels changed; dynamics from the \(options.dynamics.rawValue) pass")

            let trainer = Trainer(config: cfg, train: noisyTrain, test: test)
            if let t = correction.targets(labels: noisyTrain.labels, numClasses: train.classNames.count) {
                trainer.targets = t
                note("self-adaptive training from epoch \(correction.selfAdaptiveFrom), momentum \(fmt(Double(correction.selfAdaptiveMomentum), 2)) (the audited run only; cleaned and reference runs train without it)")
            }
            if let e = correction.earlyLearning(count: noisyTrain.count, numClasses: train.classNames.count) {
                trainer.earlyLearning = e
                note(correction.earlyLearningNote + " (the audited run only; cleaned and reference runs train without it)")
            }
            let rec = DynamicsRecorder(trainer: trainer, pass: options.dynamics)
            let cleanAt: Int? = clean == nil ? nil : cleanEpoch
            let snapshot = joinPath(outDir, "clean-start.ckpt")
            var cleanIssues: LabelIssues?
            var cleanProbabilities: [Float] = []
            var reports: [NoiseEpochReport] = []
            let shown = ["entropy", "self_confidence", "aum", "confidence", "mean_margin"]
            print("epoch  test_acc  H_clean  H_noisy  memorized  recovered  " + shown.map { padLeft("AUC:" + short($0), 9) }.joined(separator: " ") + "  " + RuleWindow.allCases.map { padLeft("F1:" + $0.rawValue, 8) }.joined(separator: " ") + "  changes  seconds")
            var csv = epochCSVHeader()
            try trainRecording(rec) { log in
                let r = LabelAudit.report(rec.dynamics, noise: noisy, testAccuracy: log.testAccuracy, window: options.window, filter: options.filter)
                reports.append(r)
                csv += epochCSVRow(r, seconds: log.seconds)
                try FileIO.writeAtomically(joinPath(outDir, "epochs.csv"), text: csv)
                print("\(padLeft(String(r.epoch), 5))  \(padLeft(r.testAccuracy.map { fmt(100 * $0, 2) + "%" } ?? "-", 8))  \(padLeft(fmt(r.meanEntropyClean, 3), 7))  \(padLeft(fmt(r.meanEntropyMislabeled, 3), 7))  \(padLeft(fmt(100 * r.memorized, 1) + "%", 9))  \(padLeft(fmt(100 * r.recovered, 1) + "%", 9))  "
                      + shown.map { padLeft(fmt(r.score($0)!.auroc, 4), 9) }.joined(separator: " ") + "  " + r.rule.map { padLeft(fmt($0.set.f1, 3), 8) }.joined(separator: " ")
                      + "  \(padLeft(r.predictionChanges.map(String.init) ?? "-", 7))  \(padLeft(fmt(log.seconds, 1), 7))")
                fflushStdout()
                if let c = cleanAt, r.epoch == c {
                    try trainer.saveCheckpoint(snapshot)
                    cleanIssues = LabelAudit.issues(rec.dynamics, window: options.window, rankBy: options.rankBy, filter: options.filter)
                    cleanProbabilities = rec.dynamics.ruleProbabilities(options.window)
                }
            }
            rec.finish(views: options.finalViews)
            try trainer.saveModel(joinPath(outDir, "noisy.safetensors"))  // before any further training: kept if that fails
            let memorization = LabelWave.memorization(rec.dynamics)  // with the final pass: the guard's verdict
            let window = rec.dynamics.resolvedWindow(options.window, memorization: memorization)
            var final = LabelAudit.issues(rec.dynamics, window: window, rankBy: options.rankBy, filter: options.filter)
            var finalProbabilities = rec.dynamics.ruleProbabilities(window)
            let auditSeconds = monotonicSeconds() - t0
            let last = LabelAudit.report(rec.dynamics, noise: noisy, testAccuracy: reports.last!.testAccuracy, window: options.window, filter: options.filter)
            var extra: [(name: String, probabilities: [Float])] = []
            /// The rule on other probabilities than the window's (out-of-sample, ensemble), with
            /// its flagged set's quality and the AUROC of their self-confidence.
            func selfConfidenceAUROC(_ p: [Float]) -> Double {
                let k = train.classNames.count
                return auroc((0..<train.count).map { 1 - p[$0 * k + Int(noisy.given[$0])] }, positives: noisy.isMislabeled)
            }
            func decide(_ p: [Float]) -> (LabelIssues, SetQuality, Double) {
                let issues = ConfidentLearning.findIssues(probabilities: p, given: noisy.given, numClasses: train.classNames.count,
                                                          filter: options.filter)
                return (issues, SetQuality(flagged: issues.flagged, positives: noisy.isMislabeled), selfConfidenceAUROC(p))
            }
            var oosJSON: JSON?
            if options.folds >= 2 {
                let t1 = monotonicSeconds()
                let oos = crossValidate(noisyTrain, config: cfg, folds: options.folds)
                extra.append(("oos_probabilities", oos))
                let (issues, q, a) = decide(oos)
                final = issues  // the decision (flagged.csv, cleaning) uses the out-of-sample outputs
                finalProbabilities = oos
                print("out-of-sample (\(options.folds)-fold): self-confidence AUROC \(fmt(a, 4)); rule flagged \(q.flagged), precision \(fmt(q.precision, 3)), recall \(fmt(q.recall, 3)), F1 \(fmt(q.f1, 3))")
                oosJSON = .object([("folds", .int(Int64(options.folds))), ("auroc_self_confidence", .double(a)), ("rule", setJSON(q)),
                                   ("seconds", .double(monotonicSeconds() - t1))])
            }
            var ensembleJSON: JSON?
            if options.ensemble > 1 {
                let t1 = monotonicSeconds()
                let k = train.classNames.count
                // the members' final passes are averaged with the audited run's final pass,
                // whatever window the single-model decision used
                let single = final, singleProbabilities = rec.dynamics.ruleProbabilities(.last)
                func trueClassAccuracy(_ p: [Float]) -> Double {
                    Double((0..<train.count).filter { argmax(p[($0 * k)..<($0 * k + k)]) == Int(noisy.truth[$0]) }.count) / Double(train.count)
                }
                let avg = try ensembleProbabilities(noisyTrain, config: cfg, members: options.ensemble, views: options.finalViews, audited: singleProbabilities,
                                                    modelPath: { joinPath(outDir, "member-\($0 + 1).safetensors") })
                extra.append(("ensemble_probabilities", avg))
                let (issues, q, a) = decide(avg)
                final = issues  // the decision (flagged.csv, cleaning) uses the ensemble's outputs
                finalProbabilities = avg
                let sa = suggestionAccuracy(issues, truth: noisy.truth, given: noisy.given)
                let sa1 = suggestionAccuracy(single, truth: noisy.truth, given: noisy.given)
                let pct = { (x: Double?) in x.map { fmt(100 * $0, 1) + "%" } ?? "-" }
                let acc = trueClassAccuracy(avg), acc1 = trueClassAccuracy(singleProbabilities)
                print("ensemble of \(options.ensemble): self-confidence AUROC \(fmt(a, 4)); rule flagged \(q.flagged), precision \(fmt(q.precision, 3)), recall \(fmt(q.recall, 3)), F1 \(fmt(q.f1, 3)); true flags given their true class \(pct(sa)) (one model: \(pct(sa1))); training images predicted as their true class \(fmt(100 * acc, 2))% (one model: \(fmt(100 * acc1, 2))%)")
                ensembleJSON = .object([("members", .int(Int64(options.ensemble))), ("auroc_self_confidence", .double(a)), ("rule", setJSON(q)),
                                        ("suggestion_accuracy", sa.map { .double($0) } ?? .null),
                                        ("single_model_suggestion_accuracy", sa1.map { .double($0) } ?? .null),
                                        ("train_true_class_accuracy", .double(acc)), ("single_model_train_true_class_accuracy", .double(acc1)),
                                        ("seconds", .double(monotonicSeconds() - t1))])
            }
            try rec.dynamics.write(joinPath(outDir, "dynamics.safetensors"), truth: noisy.truth,
                                   metadata: ["class_names": JSON.array(train.classNames.map { .string($0) }).serialized,
                                              "dynamics_pass": options.dynamics.rawValue], extra: extra)
            try FileIO.writeAtomically(joinPath(outDir, "flagged.csv"),
                                       text: labelIssuesCSV(final, dataset: noisyTrain, truth: noisy.truth, all: false))
            let bad = noisy.isMislabeled
            let finalSet = SetQuality(flagged: final.flagged, positives: bad)
            note("audit done in \(formatDuration(auditSeconds)) (decode, training, scoring)")
            note(memorizationNote(rec.dynamics, memorization, window: options.window,
                                 decidedBy: options.ensemble > 1 ? "the ensemble's outputs" : options.folds >= 2 ? "the out-of-sample outputs" : nil))

            print("\nscores after epoch \(last.epoch) (flagged sets: confident learning's counts per class on the \(options.window.rawValue) window, ranked by the score)")
            print(padRight("score", 16) + "  AUROC  best AUROC (epoch)  precision  recall     F1")
            for s in last.scores {
                let best = reports.map { ($0.score(s.name)!.auroc, $0.epoch) }.max { $0.0 < $1.0 }!
                print(padRight(s.name, 16) + "  \(fmt(s.auroc, 4))  \(padLeft(fmt(best.0, 4), 10)) (\(padLeft(String(best.1), 2)))  \(padLeft(fmt(s.flaggedSet.precision, 3), 9))  \(padLeft(fmt(s.flaggedSet.recall, 3), 6))  \(padLeft(fmt(s.flaggedSet.f1, 3), 5))")
            }
            for r in last.rule {
                print("rule on the \(r.window.rawValue) window: estimated \(r.estimated), flagged \(r.set.flagged), precision \(fmt(r.set.precision, 3)), recall \(fmt(r.set.recall, 3)), F1 \(fmt(r.set.f1, 3))")
            }
            let source = options.ensemble > 1 ? "ensemble" : options.folds >= 2 ? "out_of_sample" : "window"
            let decisionNote = options.ensemble > 1 ? "mean of \(options.ensemble) models' final \(options.finalPassAdjective) passes, ranked by its self-confidence"
                : options.folds >= 2 ? "\(options.folds)-fold out-of-sample outputs, ranked by their self-confidence"
                : "\(options.window.rawValue) window\(options.window == .auto ? " = " + window.rawValue : ""), ranked by \(options.rankBy ?? "its self-confidence")"
            // The AUROC of the probabilities the decision used (with --window last: the final
            // clean pass over --views views), which the per-epoch table (the dynamics pass) does not show.
            let decisionAUROC = selfConfidenceAUROC(finalProbabilities)
            print("decision (\(decisionNote)): self-confidence AUROC \(fmt(decisionAUROC, 4)); flagged \(finalSet.flagged) (true \(finalSet.positives)), precision \(fmt(finalSet.precision, 3)), recall \(fmt(finalSet.recall, 3)), F1 \(fmt(finalSet.f1, 3))")

            var summary: [(String, JSON)] = [
                ("noise", .object([("kind", .string(kind.rawValue)), ("rate", .double(noise)), ("mislabeled", .int(Int64(noisy.mislabeledCount))),
                                   ("seed", .int(Int64(bitPattern: noiseSeed)))])),
                ("train_config", .object([("width", .int(Int64(cfg.width))), ("epochs", .int(Int64(cfg.epochs))),
                                          ("seed", .int(Int64(bitPattern: cfg.seed))), ("label_smoothing", .decimal(cfg.labelSmoothing)),
                                          ("dynamics_pass", .string(options.dynamics.rawValue)),
                                          ("final_pass_views", .int(Int64(options.finalViews))),
                                          ("self_adaptive_from", .int(Int64(correction.selfAdaptiveFrom))),
                                          ("self_adaptive_momentum", .decimal(correction.selfAdaptiveMomentum)),
                                          ("elr_weight", .decimal(correction.elrWeight)), ("elr_momentum", .decimal(correction.earlyLearningMomentum)), ("window", .string(options.window.rawValue)), ("rank_by", .string(options.rankBy ?? "self_confidence")),
                                          ("filter", .string(options.filter.rawValue))])),
                ("classes", .array(train.classNames.map { .string($0) })),
                ("train_images", .int(Int64(train.count))),
                ("audit_seconds", .double(auditSeconds)),
                ("noisy_test_accuracy", reports.last!.testAccuracy.map { .double($0) } ?? .null),
                ("decision_source", .string(source)),  // what "rule" decided on; rule_windows and final_scores are the audited run's
                ("decision_auroc_self_confidence", .double(decisionAUROC)),
                ("rule", setJSON(finalSet)),
                ("memorization", memorizationJSON(rec.dynamics, memorization)),
                ("rule_windows", .object(last.rule.map { ($0.window.rawValue, .object([("estimated", .int(Int64($0.estimated))), ("flagged", setJSON($0.set))])) })),
                ("final_scores", .object(last.scores.map { ($0.name, .object([("auroc", .double($0.auroc)), ("flagged", setJSON($0.flaggedSet))])) })),
            ]

            if let o = oosJSON { summary.append(("out_of_sample", o)) }
            if let e = ensembleJSON { summary.append(("ensemble", e)) }
            var cleanedAccuracy: Double?
            if let mode = clean, let c = cleanAt, let issues = c == 0 ? final : cleanIssues {
                let set = SetQuality(flagged: issues.flagged, positives: bad)
                note("cleaning \(c == 0 ? "with the finished run's decision" : "after epoch \(c)"): \(mode.rawValue) \(issues.flagged.count) flagged samples (precision \(fmt(set.precision, 3)), recall \(fmt(set.recall, 3)))")
                let (cleaned, kept) = mode == .soft ? (noisyTrain, Array(0..<noisyTrain.count))
                    : LabelAudit.clean(noisyTrain, issues: issues, relabel: mode == .relabel)
                let resumed: Trainer
                if c == 0 {
                    // The audited model as saved above (with --ensemble: the first member, the audited run).
                    let start = cleanFrom == .audited ? try ModelIO.loadResNet(path: joinPath(outDir, "noisy.safetensors")).0 : nil
                    resumed = Trainer(config: cleanCfg, train: cleaned, test: test, model: start)
                } else {
                    resumed = try Trainer.resume(from: snapshot, train: noisyTrain, test: test)
                    resumed.replaceTrainingSet(cleaned)
                }
                var remainingWrong = kept.enumerated().filter { cleaned.labels[$0.offset] != noisy.truth[$0.element] }.count
                var softNote = ""
                if mode == .soft {
                    let t = LabelAudit.softTargets(given: noisyTrain.labels, numClasses: train.classNames.count, issues: issues,
                                                   probabilities: c == 0 ? finalProbabilities : cleanProbabilities,
                                                   teacherWeight: teacherWeight)
                    resumed.targets = t
                    let hard = t.hardLabels
                    remainingWrong = (0..<hard.count).filter { hard[$0] != noisy.truth[$0] }.count
                    // The share of the (weighted) target mass that is not on the true class.
                    var wrong = 0.0, total = 0.0
                    for i in 0..<t.count {
                        let w = Double(t.weights?[i] ?? 1)
                        wrong += w * Double(1 - t.values[i * t.numClasses + Int(noisy.truth[i])]); total += w
                    }
                    softNote = ", weighted target mass off the true class \(fmt(100 * wrong / max(total, 1e-9), 1))%"
                }
                let recipeNote = otherCleanRecipe ? " at \(recipe(cleanCfg)) (audited at \(recipe(cfg)))" : ""
                print("\ncleaned run (\(mode.rawValue), \(c == 0 ? (cleanFrom == .audited ? "trained on from the audited model, a fresh schedule" : "retrained from scratch" + recipeNote) : "from epoch \(c)")): \(cleaned.count) training samples, \(remainingWrong) still mislabeled\(mode == .soft ? " by their target's top class" : "")\(softNote)")
                let acc = try trainToEnd(resumed, tag: "cleaned", csv: joinPath(outDir, "cleaned-epochs.csv"))
                cleanedAccuracy = acc
                try resumed.saveModel(joinPath(outDir, "cleaned.safetensors"))
                summary.append(("cleaning", .object([("mode", .string(mode.rawValue)), ("after_epoch", .int(Int64(c))),
                                                     ("start", .string(c == 0 ? cleanFrom.rawValue : "epoch_\(c)")),
                                                     ("width", .int(Int64(cleanCfg.width))), ("epochs", .int(Int64(cleanCfg.epochs))),
                                                     ("flagged", setJSON(set)), ("still_mislabeled", .int(Int64(remainingWrong))),
                                                     ("cleaned_test_accuracy", acc.map { .double($0) } ?? .null)])))
            }
            // Controls with the cleaned run's compute. A cleaned run trained on from the audited
            // model has had twice the epochs of the noisy run, and this recipe is under-trained:
            // 15 more epochs on the noisy labels alone gain about 2 points (sym20-warm), so only
            // the same compute on every side measures the cleaning.
            let warm = clean != nil && cleanAt == 0 && cleanFrom == .audited
            var controlAccuracy: Double?
            if noisyControl && !warm {
                // The audited run trained with an in-run correction, or with another width or
                // epochs than the cleaned run: its control is a plain run of the cleaned recipe.
                print("\nnoisy control: a plain run on the noisy labels from scratch, \(cleanCfg.epochs) epochs"
                      + (otherCleanWidth ? " at width \(cleanCfg.width)" : "") + (inRunCorrection ? " (no regularization or self-adaptive targets)" : ""))
                let control = Trainer(config: cleanCfg, train: noisyTrain, test: test)
                controlAccuracy = try trainToEnd(control, tag: "noisy control", csv: joinPath(outDir, "noisy-control-epochs.csv"))
                summary.append(("noisy_control_test_accuracy", controlAccuracy.map { .double($0) } ?? .null))
            } else if noisyControl {
                print("\nnoisy control: the audited model trained on for \(cfg.epochs) epochs on its noisy labels (no cleaning)")
                let start = try ModelIO.loadResNet(path: joinPath(outDir, "noisy.safetensors")).0
                let control = Trainer(config: cfg, train: noisyTrain, test: test, model: start)
                controlAccuracy = try trainToEnd(control, tag: "noisy control", csv: joinPath(outDir, "noisy-control-epochs.csv"))
                summary.append(("noisy_control_test_accuracy", controlAccuracy.map { .double($0) } ?? .null))
            }
            if cleanReference {
                print("\nreference run on the true labels" + (otherCleanRecipe ? " at \(recipe(cleanCfg))" : ""))
                let ref = Trainer(config: cleanCfg, train: train, test: test)
                var acc = try trainToEnd(ref, tag: "reference", csv: joinPath(outDir, "reference-epochs.csv"))
                if warm {
                    summary.append(("clean_reference_first_run_test_accuracy", acc.map { .double($0) } ?? .null))
                    print("\nreference trained on for \(cfg.epochs) epochs (the cleaned run's compute)")
                    let on = Trainer(config: cfg, train: train, test: test, model: ref.model)
                    acc = try trainToEnd(on, tag: "reference, trained on", csv: joinPath(outDir, "reference-on-epochs.csv"))
                }
                summary.append(("clean_reference_test_accuracy", acc.map { .double($0) } ?? .null))
                // The noisy side has the cleaned run's compute: the audited run itself for a
                // retraining from scratch, the noisy control for a run trained on from it.
                let noisySide = controlAccuracy ?? (warm || otherCleanRecipe ? nil : reports.last!.testAccuracy)
                // An in-run correction without a cleaning step: the audited run is the corrected one.
                let inRunOnly = inRunCorrection && clean == nil
                if inRunOnly && controlAccuracy == nil, acc != nil {
                    print("\nno gap figure: the audited run is the corrected one; add --noisy-control for a plain run on the noisy labels")
                }
                let correctedAccuracy = cleanedAccuracy ?? (inRunOnly && controlAccuracy != nil ? reports.last!.testAccuracy : nil)
                if let a = acc, let cleanedAcc = correctedAccuracy {
                    let epochs = warm ? 2 * cfg.epochs : cleanCfg.epochs
                    if let n = noisySide, let share = gapClosed(noisy: n, cleaned: cleanedAcc, clean: a) {
                        let who = otherCleanRecipe ? "the cleaned run and its controls at \(recipe(cleanCfg)), the auditor at \(recipe(cfg))" : "each model trained \(epochs) epochs"
                        print("\ngap closed, \(who): \(fmt(100 * share, 1))% (noisy \(fmt(100 * n, 2))%, \(inRunOnly ? "corrected in the run" : "cleaned") \(fmt(100 * cleanedAcc, 2))%, true labels \(fmt(100 * a, 2))%)")
                        var gap: [(String, JSON)] = [("share", .double(share)), ("epochs_per_model", .int(Int64(epochs)))]
                        if otherCleanRecipe, let audited = reports.last!.testAccuracy, let own = gapClosed(noisy: n, cleaned: audited, clean: a) {
                            // The auditor is no baseline here, but a longer or wider plain run on the
                            // noisy labels may close much of the gap without any cleaning (sym20-e30:
                            // 64% and 70% of it), so its share shows beside the cleaned run's.
                            print("the auditor itself (\(recipe(cfg)), no cleaning): \(fmt(100 * own, 1))% of the gap (\(fmt(100 * audited, 2))%)")
                            gap += [("auditor_epochs", .int(Int64(cfg.epochs))), ("auditor_width", .int(Int64(cfg.width))), ("auditor_share", .double(own))]
                        }
                        summary.append(("gap_closed", .object(gap)))
                    } else if let n = noisySide {
                        print("\nno gap to close: the true labels reached \(fmt(100 * a, 2))%, the noisy ones \(fmt(100 * n, 2))%")
                    } else if otherCleanRecipe {
                        print("\nno gap figure: the audited model has \(recipe(cfg)), the cleaned run \(recipe(cleanCfg)); add --noisy-control for a noisy run at \(recipe(cleanCfg))")
                    } else {
                        print("\nno gap figure: the cleaned run trained \(epochs) epochs from the audited model, the noisy run \(cfg.epochs); add --noisy-control for a noisy run of the same compute")
                    }
                }
            }
            summary.append(("total_seconds", .double(monotonicSeconds() - t0)))
            try FileIO.writeAtomically(joinPath(outDir, "summary.json"), text: JSON.object(summary).serialized + "\n")
            note("wrote \(outDir)/{epochs.csv,flagged.csv,noise.csv,dynamics.safetensors,summary.json}")
        }
    }

    /// Trains `t` to its last epoch, one table row per epoch (and a CSV row when `csv` is
    /// given); returns the final test accuracy.
    private func trainToEnd(_ t: Trainer, tag: String, csv: String?) throws -> Double? {
        var text = "epoch,test_acc,train_loss,seconds\n"
        var acc: Double?
        print("epoch  test_acc  seconds")
        let line = ProgressLine()
        while !t.isFinished {
            let log = t.runEpoch { p in line.update("\(tag) epoch \(p.epoch)/\(p.epochs) batch \(p.batch)/\(p.batches) loss \(fmt(p.loss, 4))") }
            line.finish()
            acc = log.testAccuracy
            if let path = csv {
                text += "\(log.epoch),\(log.testAccuracy.map { "\($0)" } ?? ""),\(log.trainLoss),\(log.seconds)\n"
                try FileIO.writeAtomically(path, text: text)
            }
            print("\(padLeft(String(log.epoch), 5))  \(padLeft(log.testAccuracy.map { fmt(100 * $0, 2) + "%" } ?? "-", 8))  \(padLeft(fmt(log.seconds, 1), 7))")
            fflushStdout()
        }
        return acc
    }

    /// "width W, E epochs": the part of a recipe the cleaned run may change.
    private func recipe(_ c: TrainConfig) -> String { "width \(c.width), \(c.epochs) epoch\(c.epochs == 1 ? "" : "s")" }

    private func short(_ s: String) -> String {
        ["self_confidence": "selfc", "confidence": "conf", "mean_margin": "mmarg", "entropy": "ent"][s] ?? s
    }

    private func noiseCSV(_ ds: Dataset, _ n: NoisyLabels) -> String {
        var s = "index,path,true_label,given_label,mislabeled\n"
        for i in 0..<ds.count {
            let src = i < ds.sources.count ? ds.sources[i] : "#\(i)"
            s += "\(i),\(csvField(src)),\(csvField(ds.classNames[Int(n.truth[i])])),\(csvField(ds.classNames[Int(n.given[i])])),\(n.truth[i] != n.given[i] ? 1 : 0)\n"
        }
        return s
    }
}

func setJSON(_ s: SetQuality) -> JSON {
    .object([("flagged", .int(Int64(s.flagged))), ("true_positives", .int(Int64(s.truePositives))), ("positives", .int(Int64(s.positives))),
             ("precision", .double(s.precision)), ("recall", .double(s.recall)), ("f1", .double(s.f1))])
}

func epochCSVHeader() -> String {
    var h = "epoch,test_acc,fit_given,entropy_clean,entropy_mislabeled,memorized,recovered,estimated_noisy"
    for s in LabelScores.names { h += ",auroc_\(s),precision_\(s),recall_\(s),f1_\(s)" }
    for w in RuleWindow.allCases { h += ",rule_estimated_\(w.rawValue),rule_precision_\(w.rawValue),rule_recall_\(w.rawValue),rule_f1_\(w.rawValue)" }
    return h + ",prediction_changes,seconds\n"
}

func epochCSVRow(_ r: NoiseEpochReport, seconds: Double) -> String {
    var f = ["\(r.epoch)", r.testAccuracy.map { "\($0)" } ?? "", "\(r.fitGiven)", "\(r.meanEntropyClean)", "\(r.meanEntropyMislabeled)",
             "\(r.memorized)", "\(r.recovered)", "\(r.estimatedNoisy)"]
    for s in LabelScores.names {
        let q = r.score(s)!
        f += ["\(q.auroc)", "\(q.flaggedSet.precision)", "\(q.flaggedSet.recall)", "\(q.flaggedSet.f1)"]
    }
    for r in r.rule { f += ["\(r.estimated)", "\(r.set.precision)", "\(r.set.recall)", "\(r.set.f1)"] }
    return f.joined(separator: ",") + ",\(r.predictionChanges.map(String.init) ?? ""),\(seconds)\n"
}
