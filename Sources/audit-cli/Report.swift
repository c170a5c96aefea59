// `audit-cli report`: one command, one page. Trains a ResNet-18 on a folder dataset (or takes
// a trained one), then runs every audit robust has on it: the label audit, the image-quality
// checks, the robustness sweep and, when the data has a metadata column, the modality-conflict
// audit. Writes a self-contained HTML page plus the CSV/JSON behind each table to --out.
import ArgumentParser
import RobustCore

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Audit a folder dataset end to end (labels, image quality, robustness, metadata) and write an HTML report.",
        discussion: """
        DIR holds train/<class>/* (and test/<class>/*, which the robustness sweep and the fusion
        test need). A metadata column is a CSV with columns path (relative to DIR, e.g.
        train/cat/1.png) and meta (a class name): --metadata FILE, or DIR/metadata.csv when present.
        When DIR/truth.csv exists (a dataset from `synth --plant`), every finding is checked against
        the planted problems. --noise plants symmetric label noise first (seeded, as label-noise does:
        the same options give the same flagged set). Image-quality thresholds come from the data
        itself (robust outlier bounds) unless --calibration names a file.
        Output: OUT/report.html and, behind it, label-issues.csv, label-epochs.csv (with --noise),
        quality.csv, robustness.csv, metadata-verdicts.csv, fusion.csv, truth-check.csv (with a truth
        file), summary.json and model.safetensors (when it trained).
        Exit status 0 when the report was written, whatever it found.
        """)

    @OptionGroup var options: LabelTrainingOptions
    @Option(help: "Audit with this trained ResNet-18 instead of training one (its classes must be the data's).") var model: String?
    @Option(help: "Output folder.") var out = "report"
    @Option(help: "Plant this share of symmetric label noise in the training labels first (an experiment with a known answer).")
    var noise: Double?
    @Option(help: "Seed of the planted noise.") var noiseSeed: UInt64 = 0
    @Option(help: "Metadata CSV (path, meta) for the modality-conflict audit (default: DIR/metadata.csv if present).") var metadata: String?
    @Option(help: "Image-quality calibration file (default: thresholds from the data itself).") var calibration: String?
    @Option(help: "Test images the robustness sweep uses, spread evenly over the test set.") var robustnessImages = 1000
    @Option(help: "Thumbnails shown per list in the page.") var show = 48
    @Option(help: "Shortcut test of the metadata: joint (train FusionNet as the study did, with and without metadata dropout, plus the staged recipe: two more trainings), frozen (only the staged recipe on the audited encoder: seconds) or off.")
    var fusion: FusionMode = .joint
    @Option(help: "Epochs of the staged fusion recipe (on frozen image features: seconds).") var fusionEpochs = 8

    func validate() throws {
        if options.folds > 0 || options.ensemble > 1 {
            throw ValidationError("report audits one training run: --folds and --ensemble belong to audit-labels")
        }
        if let n = noise, !(n.isFinite && (0...1).contains(n)) { throw ValidationError("--noise must lie in [0, 1]") }
        if robustnessImages < 1 { throw ValidationError("--robustness-images must be at least 1") }
        if show < 0 || show > 10_000 { throw ValidationError("--show must lie in 0...10000") }
        if fusionEpochs < 1 { throw ValidationError("--fusion-epochs must be at least 1") }
        if options.noTest { throw ValidationError("report needs the test split (robustness, the fusion test): --no-test is not for report") }
    }

    func run() throws {
        let t0 = monotonicSeconds()
        try reportingErrors {
            try FileIO.makeDirectory(out)
            let dir = try resolveDataPath(options.data)
            var (train, test) = try options.load()
            let k = train.classNames.count
            var ctx = ReportContext(dataPath: dir, out: out, show: show, train: train, test: test)
            // Inputs that could be wrong are read before the training, not after it.
            let metaPath = metadata ?? (FileIO.exists(joinPath(dir, "metadata.csv")) ? joinPath(dir, "metadata.csv") : nil)
            let metadataRows = try metaPath.map { try ctx.readMetadata($0) }
            let truthPath = joinPath(dir, "truth.csv")
            let truthRows = FileIO.exists(truthPath) ? try ctx.readTruth(truthPath) : nil
            let qualityCalibration = try calibration.map { try QualityCalibration.load($0) }

            // Planted label noise: the given labels change, the truth is kept for the figures.
            if let rate = noise {
                let noisy = try NoisyLabels.inject(train.labels, classNames: train.classNames, kind: .symmetric, rate: rate, seed: noiseSeed)
                train.labels = noisy.given
                ctx.train = train
                ctx.noise = noisy
                note("planted symmetric label noise \(fmt(100 * rate, 1))%: \(noisy.mislabeledCount) of \(train.count) labels changed")
            }

            // 1. The model and the label audit.
            let stage = StageClock(total: 5)
            let net: ResNet18, info: ModelInfo
            if let path = model {
                stage.begin("label audit with \(path) (one clean pass, \(options.finalViews) view\(options.finalViews == 1 ? "" : "s"))")
                (net, info) = try loadResNet(path, for: train, data: dir)
                let p = predictShowingProgress("scoring", net, train, normalization: info.normalization, views: options.finalViews).probabilities
                ctx.trainProbabilities = p
                ctx.issues = ConfidentLearning.findIssues(probabilities: p, given: train.labels, numClasses: k, filter: options.filter)
                ctx.modelSource = path
                ctx.labelSource = "the \(options.finalPassAdjective) probabilities of \(path) on the training images (one clean pass; --window, --rank-by and --dynamics need training)"
            } else {
                let cfg = try options.config()
                stage.begin("training ResNet-18 width \(cfg.width) for \(cfg.epochs) epochs on \(train.count) images, recording dynamics")
                let trainer = Trainer(config: cfg, train: train, test: test)
                let rec = DynamicsRecorder(trainer: trainer, pass: options.dynamics)
                trainRecording(rec) { log in
                    ctx.epochs.append((log.epoch, log.trainLoss, log.trainAccuracy, log.testAccuracy, log.seconds))
                    if let n = ctx.noise {
                        ctx.noiseEpochs.append(LabelAudit.report(rec.dynamics, noise: n, testAccuracy: log.testAccuracy,
                                                                 window: options.window, filter: options.filter))
                    }
                    let acc = log.testAccuracy.map { ", test accuracy " + fmt(100 * $0, 2) + "%" } ?? ""
                    note("epoch \(log.epoch)/\(cfg.epochs): loss \(fmt(log.trainLoss, 4))\(acc), \(fmt(log.seconds, 1)) s")
                }
                rec.finish(views: options.finalViews)
                let m = LabelWave.memorization(rec.dynamics)
                let resolved = rec.dynamics.resolvedWindow(options.window, memorization: m)
                ctx.issues = LabelAudit.issues(rec.dynamics, window: resolved, rankBy: options.rankBy, filter: options.filter)
                let window: String
                switch resolved {
                case .last: window = "a final \(options.finalPassAdjective) pass over the training images after training"
                case .early: window = "the mean of the \(options.dynamics.rawValue)-pass probabilities of epochs 1-\(m.waveEpoch ?? rec.dynamics.epochs) \(m.waveEpoch == nil ? "(no Label Wave epoch: every epoch)" : "(the early-learning window\(m.detected ? "; the network memorized wrong labels after it" : ""))")"
                default: window = "the mean of the \(resolved == .all ? "every epoch's" : "later epochs'") \(options.dynamics.rawValue)-pass probabilities"
                }
                note(memorizationNote(rec.dynamics, m, window: options.window))
                ctx.labelSource = window + (options.rankBy.map { ", ranked by \($0)" } ?? "")
                ctx.trainProbabilities = rec.dynamics.finalCleanPass ?? rec.dynamics.ruleProbabilities(.last)
                let modelPath = joinPath(out, "model.safetensors")
                try trainer.saveModel(modelPath)
                ctx.modelSource = "trained here: width \(cfg.width), \(cfg.epochs) epochs, seed \(cfg.seed) (\(modelPath))"
                net = trainer.model
                info = trainer.info
            }
            ctx.normalization = info.normalization
            if let t = test, t.count > 0 {
                let p = Evaluator.predict(net, t, normalization: info.normalization)
                ctx.testProbabilities = p.probabilities
                ctx.testAccuracy = p.accuracy
            }
            try ctx.writeLabelFiles()
            stage.end("\(ctx.issues!.flagged.count) labels flagged")

            // 2. Image quality, both splits together (duplicates across them show).
            stage.begin("image quality of \(train.count + (test?.count ?? 0)) images")
            try ctx.runQuality(calibration: qualityCalibration)
            stage.end(ctx.quality.map { r in r.counts().filter { $0.1 > 0 }.map { "\($0.1) \($0.0)" }.joined(separator: ", ") } ?? "")

            // 3. Robustness on the test split.
            stage.begin("robustness sweep (Gaussian noise and blur)")
            if let t = test, t.count > 0 {
                try ctx.runRobustness(net, test: t, images: robustnessImages) { done, total, last in
                    note("  [\(done)/\(total)] \(last)")
                }
                stage.end("clean \(fmt(100 * ctx.robustness[0].accuracy, 2))%, worst \(fmt(100 * (ctx.robustness.map(\.accuracy).min() ?? 0), 2))%")
            } else {
                stage.end("skipped: no test split")
            }

            // 4. Metadata: the conflict check, and the shortcut test of a fusion model.
            stage.begin("metadata")
            if let mp = metaPath, let metadataRows {
                var cfg = try options.config()
                cfg.width = net.width
                try ctx.runMetadata(mp, claims: metadataRows.claims, unmatched: metadataRows.unmatched, encoder: net, fusionMode: fusion, trainConfig: cfg, frozenEpochs: fusionEpochs)
                stage.end("\(ctx.metaConflicts.count) images contradict their metadata")
            } else {
                stage.end("skipped: no metadata CSV")
            }

            // 5. The truth, when the data carries it; then the page.
            stage.begin("writing the report")
            if let truthRows { try ctx.checkTruth(truthRows) }
            ctx.seconds = monotonicSeconds() - t0
            try FileIO.writeAtomically(joinPath(out, "report.html"), text: ctx.page().render())
            try FileIO.writeAtomically(joinPath(out, "summary.json"), text: ctx.summaryJSON().serialized + "\n")
            stage.end("")
            ctx.printSummary()
            print("report: \(joinPath(out, "report.html")) (\(formatDuration(ctx.seconds)))")
        }
    }
}

enum FusionMode: String, ExpressibleByArgument, CaseIterable {
    case joint, frozen, off
}

/// Numbered stages on stderr with their times.
final class StageClock {
    let total: Int
    private var n = 0, start = 0.0
    init(total: Int) { self.total = total }
    func begin(_ what: String) {
        n += 1
        start = monotonicSeconds()
        note("[\(n)/\(total)] \(what)")
    }
    func end(_ result: String) {
        note("[\(n)/\(total)] done in \(formatDuration(monotonicSeconds() - start))" + (result.isEmpty ? "" : ": " + result))
    }
}
