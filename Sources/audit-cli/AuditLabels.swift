// `audit-cli audit-labels`: the label audit on a user's own folder dataset, where nobody
// knows which labels are wrong. Trains with dynamics, flags samples by the rate-free rule,
// writes them ranked as CSV and prints a summary per class.
import ArgumentParser
import RobustCore

struct AuditLabels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit-labels",
        abstract: "Find likely mislabeled images in a folder dataset (train/<class>/*): a ranked CSV and a per-class summary.")

    @OptionGroup var options: LabelTrainingOptions
    @Option(help: "CSV of the flagged samples (path, given label, suggested label, score).") var out = "label-issues.csv"
    @Flag(help: "Write every sample's score, ranked, instead of only the flagged ones.") var all = false
    @Option(help: "Also write the per-sample dynamics (safetensors).") var dynamicsOut: String?
    @Option(help: "Audit with this trained model instead of training one (one clean pass; its classes must be the data's). Repeat it to audit with the mean of several models' outputs (an ensemble).")
    var model: [String] = []
    @Option(help: "Labels to audit from a CSV (columns path and given_label or label, class names) instead of the folder names. With a true_label column too (label-noise's noise.csv), the CSV gains true_label and mislabeled columns and the summary scores the audit against them.")
    var labels: String?
    @Option(help: "Also write soft relabeling targets (safetensors) for `train --targets`: flagged samples get the model's probabilities, weighted by their confidence.")
    var targetsOut: String?
    @Option(help: "With --targets-out: weight of the model's probabilities in the unflagged samples' targets (0: one-hot; above 0: distillation).")
    var teacherWeight: Float = 0
    @Flag(help: "With --model: average each image's outputs with its mirror image's (--views 2; without either, --model runs one view).") var flipTta = false
    @Option(help: "Decide on stored probabilities instead of a model: FILE.safetensors[:TENSOR] (default tensor: probabilities), [N, K] rows in the dataset's order, from any model (as cleanlab's pred_probs).")
    var probabilities: String?
    @Option(help: "With --ensemble: save each extra member's model as PREFIX-K.safetensors (K = 2...N).") var membersOut: String?

    var memberModelPath: ((Int) -> String)? { membersOut.map { p in { "\(p)-\($0 + 1).safetensors" } } }

    func validate() throws {
        guard teacherWeight.isFinite, (0...1).contains(teacherWeight) else { throw ValidationError("--teacher-weight must lie in [0, 1]") }
        if teacherWeight != 0 && targetsOut == nil { throw ValidationError("--teacher-weight needs --targets-out") }
        if !model.isEmpty && (options.rankBy != nil || options.folds > 0 || options.ensemble > 1) {
            throw ValidationError("--model audits one clean pass: --rank-by, --folds and --ensemble need training (repeat --model for an ensemble of trained models)")
        }
        if probabilities != nil && (!model.isEmpty || options.folds > 0 || options.ensemble > 1 || options.rankBy != nil) {
            throw ValidationError("--probabilities decides on the stored outputs alone: no --model, --folds, --ensemble or --rank-by")
        }
        try TestTimeViewsOption.validate(options.views, flipTta: flipTta)
        if flipTta && model.isEmpty { throw ValidationError("--flip-tta is for --model (a trained run's final pass takes --views)") }
        if probabilities != nil && options.views != nil { throw ValidationError("--probabilities decides on stored outputs: --views needs a model") }
        if Set(model).count < model.count { throw ValidationError("--model lists the same file twice: it would count twice in the mean") }
    }

    func run() throws {
        let t0 = monotonicSeconds()
        try reportingErrors {
            var (train, test) = try options.load()
            var truth: [Int32]? = nil
            if let l = labels {
                truth = try applyLabelFile(l, to: &train)
                note("labels from \(l)" + (truth != nil ? " (with true labels: the audit is scored against them)" : ""))
            }
            if let spec = probabilities {
                let p = try loadProbabilities(spec, for: train)
                try decide(train, probabilities: p, source: spec, truth: truth)
                note("wrote \(out) in \(formatDuration(monotonicSeconds() - t0))")
                return
            }
            if !model.isEmpty {
                try auditWithModels(model, train, truth: truth)
                note("wrote \(out) in \(formatDuration(monotonicSeconds() - t0))")
                return
            }
            let cfg = try options.config()
            let trainer = Trainer(config: cfg, train: train, test: test)
            let rec = DynamicsRecorder(trainer: trainer, pass: options.dynamics)
            note("auditing \(train.count) labels over \(train.classNames.count) classes: ResNet-18 width \(cfg.width), \(cfg.epochs) epochs, dynamics from the \(options.dynamics.rawValue) pass")
            trainRecording(rec) { log in
                let test = log.testAccuracy.map { ", test accuracy " + fmt(100 * $0, 2) + "%" } ?? ""
                note("epoch \(log.epoch): train loss \(fmt(log.trainLoss, 4)), accuracy on the given labels \(fmt(100 * log.trainAccuracy, 2))%\(test), \(fmt(log.seconds, 1)) s")
            }
            rec.finish(views: options.finalViews)
            let memorization = LabelWave.memorization(rec.dynamics)
            let window = rec.dynamics.resolvedWindow(options.window, memorization: memorization)
            note(memorizationNote(rec.dynamics, memorization, window: options.window,
                                 decidedBy: options.ensemble > 1 ? "the ensemble's outputs" : options.folds >= 2 ? "the out-of-sample outputs" : nil))
            var extra: [(name: String, probabilities: [Float])] = []
            let issues: LabelIssues
            if options.folds >= 2 {
                let oos = crossValidate(train, config: cfg, folds: options.folds)
                extra.append(("oos_probabilities", oos))
                issues = ConfidentLearning.findIssues(probabilities: oos, given: train.labels, numClasses: train.classNames.count, filter: options.filter)
            } else if options.ensemble > 1 {
                let avg = try ensembleProbabilities(train, config: cfg, members: options.ensemble, views: options.finalViews,
                                                    audited: rec.dynamics.ruleProbabilities(.last),
                                                    modelPath: memberModelPath)
                extra.append(("ensemble_probabilities", avg))
                issues = ConfidentLearning.findIssues(probabilities: avg, given: train.labels, numClasses: train.classNames.count, filter: options.filter)
            } else {
                issues = LabelAudit.issues(rec.dynamics, window: window, rankBy: options.rankBy, filter: options.filter)
            }
            try FileIO.writeAtomically(out, text: labelIssuesCSV(issues, dataset: train, truth: truth, all: all))
            try writeSoftTargets(train, issues, probabilities: extra.first?.probabilities ?? rec.dynamics.ruleProbabilities(window))
            if let d = dynamicsOut {
                try rec.dynamics.write(d, truth: nil, metadata: ["class_names": JSON.array(train.classNames.map { .string($0) }).serialized,
                                                                  "dynamics_pass": options.dynamics.rawValue], extra: extra)
            }
            printSummary(train, issues, truth: truth)
            note("wrote \(out) (\(all ? "every sample" : "\(issues.flagged.count) flagged samples"), ranked) in \(formatDuration(monotonicSeconds() - t0))")
        }
    }

    /// The rule on one clean pass of existing models, their outputs averaged (models trained
    /// elsewhere, or the cleaned model of a first round: samples it never trained on are
    /// scored out of sample).
    func auditWithModels(_ paths: [String], _ train: Dataset, truth: [Int32]?) throws {
        var tables: [[Float]] = []
        let dir = try resolveDataPath(options.data)
        for (i, path) in paths.enumerated() {
            let (m, info) = try loadResNet(path, for: train, data: dir)
            let what = paths.count == 1 ? "scoring" : "scoring with model \(i + 1)/\(paths.count)"
            tables.append(predictShowingProgress(what, m, train, normalization: info.normalization,
                                                 views: TestTimeViewsOption.resolve(options.views, flipTta: flipTta)).probabilities)
        }
        try decide(train, probabilities: AuditEnsemble.average(tables), source: paths.joined(separator: ","), truth: truth)
    }

    /// The rule on given probabilities: the CSV, soft targets, probabilities file and summary.
    func decide(_ train: Dataset, probabilities p: [Float], source: String, truth: [Int32]?) throws {
        let issues = ConfidentLearning.findIssues(probabilities: p, given: train.labels, numClasses: train.classNames.count, filter: options.filter)
        try FileIO.writeAtomically(out, text: labelIssuesCSV(issues, dataset: train, truth: truth, all: all))
        try writeSoftTargets(train, issues, probabilities: p)
        if let d = dynamicsOut {
            var w = SafeTensorsWriter()
            w.add("probabilities", shape: [train.count, train.classNames.count], floats: p)
            w.add("given_labels", shape: [train.count], int64s: train.labels.map(Int64.init))
            w.metadata = ["class_names": JSON.array(train.classNames.map { .string($0) }).serialized, "source": source]
            try w.write(d)
        }
        printSummary(train, issues, truth: truth)
    }

    /// FILE[:TENSOR] as count x classes rows for `train`: the shape must match and every row
    /// must be a distribution (finite, non-negative, summing to 1 within 1e-3).
    func loadProbabilities(_ spec: String, for train: Dataset) throws -> [Float] {
        var path = spec, name = "probabilities"
        if let c = spec.lastIndex(of: ":"), !spec[spec.index(after: c)...].contains("/") {
            path = String(spec[..<c]); name = String(spec[spec.index(after: c)...])
        }
        let st = try SafeTensors.load(path)
        guard let e = st.entry(name) else {
            throw RobustError.format(path: path, reason: "no tensor '\(name)' (has \(st.entries.map(\.name).sorted().joined(separator: ", ")))")
        }
        let k = train.classNames.count
        guard e.shape == [train.count, k] else {
            throw RobustError.invalidArgument("\(path): '\(name)' has shape \(e.shape), the data needs [\(train.count), \(k)] (one row per training image, one column per class)")
        }
        let p = try st.floats(name)
        for r in 0..<train.count {
            let row = p[(r * k)..<(r * k + k)]
            guard row.allSatisfy({ $0.isFinite && $0 >= 0 }), abs(row.reduce(0, +) - 1) <= 1e-3 else {
                throw RobustError.format(path: path, reason: "row \(r) of '\(name)' is not a probability distribution")
            }
        }
        return p
    }

    func writeSoftTargets(_ train: Dataset, _ issues: LabelIssues, probabilities: [Float]) throws {
        guard let path = targetsOut else { return }
        let t = LabelAudit.softTargets(given: train.labels, numClasses: train.classNames.count, issues: issues, probabilities: probabilities,
                                       teacherWeight: teacherWeight)
        try writeTargets(t, for: train, to: path)
    }

    /// The per-class table; with true labels (a label-noise run's noise.csv) also how well the
    /// ranking score and the flagged set find the wrong ones.
    func printSummary(_ train: Dataset, _ issues: LabelIssues, truth: [Int32]?) {
        do {
            let width = max(12, train.classNames.map(\.count).max() ?? 0)
            print(padRight("class", width) + "  images  flagged  share  most suggested instead")
            for (c, r) in flagsPerClass(train, issues).enumerated() {
                let top = r.suggested.map { "\(train.classNames[$0.0]) (\($0.1))" }.joined(separator: ", ")
                print(padRight(train.classNames[c], width) + "  \(padLeft(String(r.images), 6))  \(padLeft(String(r.flagged), 7))  \(padLeft(fmt(100 * Double(r.flagged) / Double(max(r.images, 1)), 1) + "%", 5))  \(top)")
            }
            print(padRight("all", width) + "  \(padLeft(String(train.count), 6))  \(padLeft(String(issues.flagged.count), 7))  \(padLeft(fmt(100 * Double(issues.flagged.count) / Double(max(train.count, 1)), 1) + "%", 5))")
        }
        if let t = truth {
            let wrong = zip(t, train.labels).map { $0 != $1 }
            let q = SetQuality(flagged: issues.flagged, positives: wrong)
            print("against the true labels (\(q.positives) wrong): ranking score AUROC \(fmt(auroc(issues.score, positives: wrong), 5)); "
                  + "flagged \(q.flagged), precision \(fmt(q.precision, 3)), recall \(fmt(q.recall, 3)), F1 \(fmt(q.f1, 3))")
        }
    }
}
