// `audit-cli fusion`: the study's modality-conflict experiment. Trains FusionNet (image +
// claimed class) under one or more recipes (metadata agreement, metadata and image dropout,
// staged training from a trained image encoder) and measures each: the conflict test, the
// unimodal and consistent-pair accuracies, permutation reliance, and the image-only conflict
// check as a gate. Tables on stdout; CSV/JSON and a chart in --out.
import ArgumentParser
import RobustCore

struct FusionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fusion",
        abstract: "Train FusionNet (image + claimed class) and measure shortcut learning: conflict test, unimodal accuracies, permutation reliance, the conflict gate.",
        discussion: """
        The claim of each training image agrees with its label with probability --meta-agree, else it
        names a random other class; it is replaced by the missing token with probability
        --meta-dropout, and the image features are zeroed with probability --image-dropout. Each of
        these takes a comma-separated list: every combination is trained (a sweep).
        Staged training: --image-model starts the image encoder from a trained ResNet-18;
        --freeze-image keeps it fixed, and the rest trains on its features in seconds.
        Conflict test: every test image with a random other class as its claim (seeded).
        """)

    @Option(help: "Data folder: train/ and test/ class folders, or CIFAR-10 .bin files (default: $ROBUST_DATA).")
    var data: String?
    @Option(help: "Width multiplier w of the image encoder.") var width = 16
    @Option(help: "Training epochs.") var epochs = 4
    @Option(help: "Probability that a training claim agrees with the label (comma-separated: a sweep).") var metaAgree = "1"
    @Option(help: "Metadata dropout p_m: the claim is replaced by the missing token (comma-separated: a sweep).") var metaDropout = "0"
    @Option(help: "Image dropout p_i: the image features are zeroed (comma-separated: a sweep).") var imageDropout = "0"
    @Option(help: "Hidden size of the metadata MLP (K+1 -> H -> H).") var hidden = 64
    @Option(help: "Start the image encoder from this trained ResNet-18 (same width and classes).") var imageModel: String?
    @Flag(help: "With --image-model: keep the image encoder fixed and train the metadata encoder and head on its features.")
    var freezeImage = false
    @Option(help: "Measure this trained FusionNet instead of training.") var model: String?
    @Option(help: "A plain ResNet-18 whose test accuracy is the bar for consistent-pair accuracy (default: --image-model).")
    var baseline: String?
    @Option(help: "Random seed of training (initialization, order, augmentation, training claims).") var seed: UInt64 = 0
    @Option(help: "Seed of the conflict test's claims and of the permutations.") var conflictSeed: UInt64 = 0
    @Option(help: "Batch size.") var batchSize = 128
    @Option(help: "Peak learning rate.") var lr: Float = 0.1
    @Option(help: "Label smoothing epsilon.") var labelSmoothing: Float = 0.1
    @Flag(help: "Disable crop+flip augmentation.") var noAugment = false
    @Option(help: "Use at most this many images per class (quick runs).") var limitPerClass: Int?
    @Option(help: "Output folder: fusion.csv, fusion.json, epochs.csv, fusion.svg.") var out = "fusion"
    @Flag(help: "Save each trained FusionNet as OUT/fusion-<recipe>.safetensors.") var saveModels = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func validate() throws {
        for (flag, v) in [("--meta-agree", metaAgree), ("--meta-dropout", metaDropout), ("--image-dropout", imageDropout)] {
            _ = try parseList(v, flag: flag)
        }
        if epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if hidden < 1 || hidden > 65536 { throw ValidationError("--hidden must lie in 1...65536") }
        if freezeImage && imageModel == nil { throw ValidationError("--freeze-image needs --image-model (a trained encoder to keep)") }
        if model != nil && (imageModel != nil || freezeImage || saveModels) {
            throw ValidationError("--model measures a trained FusionNet: --image-model, --freeze-image and --save-models are for training")
        }
        if let l = limitPerClass, l < 1 { throw ValidationError("--limit-per-class must be at least 1") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    func parseList(_ s: String, flag: String) throws -> [Double] {
        let v = s.split(separator: ",").map { Double($0.trimmingSpaces) }
        guard !v.isEmpty, v.allSatisfy({ $0 != nil && $0!.isFinite && (0...1).contains($0!) }) else {
            throw ValidationError("\(flag) '\(s)': expected comma-separated probabilities in [0, 1]")
        }
        return v.map { $0! }
    }

    /// One trained (or loaded) FusionNet and everything measured on it.
    struct Outcome {
        var recipe: String
        var config: FusionConfig?
        var report: ModalityReport
        var epochs: [(epoch: Int, loss: Double, trainAccuracy: Double, consistent: Double, imageOnly: Double,
                      followedMetadata: Double, followedImage: Double, seconds: Double)] = []
        var gateTrue: [Verdict: Int] = [:], gateWrong: [Verdict: Int] = [:]
    }

    func run() throws {
        if let t = threads { Threads.set(t) }
        let t0 = monotonicSeconds()
        try reportingErrors {
            let dir = try resolveDataPath(data)
            try FileIO.makeDirectory(out)
            var outcomes: [Outcome] = []
            var baselineAccuracy: Double?
            var modelInfo: (hidden: Int, width: Int)

            if let m = model {
                let (net, info) = try ModelIO.loadFusion(path: m)
                let d = try loadData(dir, needTrain: false, needTest: true, skipBad: true, limitPerClass: limitPerClass,
                                     classes: info.image.classNames)
                let test = try checkedTest(d, dir: dir, classes: info.image.classNames.count, source: m)
                modelInfo = (net.hidden, net.width)
                note("measuring \(m) on \(test.count) test images")
                let line = ProgressLine()
                let r = ModalityConflict.measure(net, data: test, normalization: info.image.normalization, seed: conflictSeed) { done, total in
                    line.update("features \(done)/\(total)")
                }
                line.finish()
                outcomes.append(gated(Outcome(recipe: m, config: nil, report: r)))
                baselineAccuracy = try baselineModel().map { try plainAccuracy($0, test, dir: dir) }
            } else {
                let d = try loadData(dir, needTrain: true, needTest: true, skipBad: true, limitPerClass: limitPerClass)
                guard let train = d.train, train.count > 0 else { throw RobustError.invalidArgument("\(dir): no training images") }
                let test = try checkedTest(d, dir: dir, classes: train.classNames.count, source: dir)
                let k = train.classNames.count
                guard k >= 2 else { throw RobustError.invalidArgument("\(dir): the conflict test needs at least two classes") }
                var encoder: ResNet18?
                var normalization = Normalization.cifar10
                if let im = imageModel {
                    let (net, info) = try loadResNet(im, for: train, data: dir, width: width, use: "to use it as the image encoder")
                    encoder = net
                    normalization = info.normalization   // the encoder learned on inputs normalized this way
                }
                baselineAccuracy = try baselineModel().map { try plainAccuracy($0, test, dir: dir) }
                modelInfo = (hidden, width)
                // A frozen encoder is shared by every recipe: its features are computed once.
                var trainFeatures: Tensor?, testFeatures: Tensor?
                if freezeImage, let e = encoder {
                    let line = ProgressLine()
                    trainFeatures = FusionEvaluator.features(encoder: e, train, normalization: normalization) { done, total in
                        line.update("encoder features of the training set \(done)/\(total)")
                    }
                    testFeatures = FusionEvaluator.features(encoder: e, test, normalization: normalization)
                    line.finish()
                }
                let recipes = try recipeGrid()
                note("FusionNet width \(width), hidden \(hidden): \(recipes.count) recipe(s), \(epochs) epochs each, \(train.count) training and \(test.count) test images"
                     + (imageModel.map { ", image encoder from \($0)" + (freezeImage ? " (frozen)" : "") } ?? ""))
                for (i, cfg) in recipes.enumerated() {
                    let name = recipeName(cfg)
                    note("[\(i + 1)/\(recipes.count)] \(name)")
                    let trainer = try FusionTrainer(config: cfg, train: train, imageEncoder: encoder, trainFeatures: trainFeatures,
                                                    normalization: normalization)
                    var o = Outcome(recipe: name, config: cfg, report: ModalityReport(images: 0))
                    print("recipe \(name)")
                    print("epoch  train_loss  train_acc  consistent  image_only  follow_meta  follow_image  seconds")
                    let line = ProgressLine()
                    while !trainer.isFinished {
                        let te = monotonicSeconds()
                        let r = trainer.runEpoch { done, total, loss in
                            let el = monotonicSeconds() - te
                            let rate = Double(done) / max(el, 1e-9)
                            line.update("epoch \(trainer.epoch + 1)/\(cfg.train.epochs) \(done)/\(total) loss \(fmt(loss, 4)) \(Int(rate)) img/s ETA \(formatDuration(Double(total - done) / max(rate, 1e-9)))")
                        }
                        line.finish()
                        let feats = testFeatures ?? FusionEvaluator.features(trainer.model, test, normalization: normalization)
                        o.report = ModalityConflict.measure(trainer.model, features: feats, labels: test.labels, seed: conflictSeed)
                        let sec = monotonicSeconds() - te
                        o.epochs.append((trainer.epoch, r.loss, r.accuracy, o.report.consistentAccuracy, o.report.imageOnlyAccuracy,
                                         o.report.share(o.report.followedMetadata), o.report.share(o.report.followedImage), sec))
                        print("\(padLeft(String(trainer.epoch), 5))  \(padLeft(fmt(r.loss, 4), 10))  \(padLeft(pct(r.accuracy), 9))  \(padLeft(pct(o.report.consistentAccuracy), 10))  \(padLeft(pct(o.report.imageOnlyAccuracy), 10))  \(padLeft(pct(o.report.share(o.report.followedMetadata)), 11))  \(padLeft(pct(o.report.share(o.report.followedImage)), 12))  \(padLeft(fmt(sec, 1), 7))")
                        fflushStdout()
                    }
                    if saveModels {
                        let path = joinPath(out, "fusion-\(name).safetensors")
                        try ModelIO.save(trainer.model, info: trainer.info, to: path)
                        note("wrote \(path)")
                    }
                    o = gated(o)
                    outcomes.append(o)
                    summarize(o, baseline: baselineAccuracy)
                    try write(outcomes, dataPath: dir, baseline: baselineAccuracy, modelInfo: modelInfo, seconds: monotonicSeconds() - t0)
                }
            }
            if model != nil { summarize(outcomes[0], baseline: baselineAccuracy) }
            if outcomes.count > 1 { sweepTable(outcomes, baseline: baselineAccuracy) }
            try write(outcomes, dataPath: dir, baseline: baselineAccuracy, modelInfo: modelInfo, seconds: monotonicSeconds() - t0)
            note("wall time \(formatDuration(monotonicSeconds() - t0)); wrote \(out)/fusion.csv, fusion.json, epochs.csv, fusion.svg")
        }
    }

    func checkedTest(_ d: LoadedData, dir: String, classes: Int, source: String) throws -> Dataset {
        guard let test = d.test, test.count > 0 else { throw RobustError.invalidArgument("\(dir): no test images (the measures need a test/ split)") }
        guard test.classNames.count == classes else {
            throw RobustError.invalidArgument("\(source) has \(classes) classes but \(dir)'s test split has \(test.classNames.count)")
        }
        return test
    }

    func baselineModel() throws -> String? { baseline ?? imageModel }

    func plainAccuracy(_ path: String, _ test: Dataset, dir: String) throws -> Double {
        // The shared check: the same classes in the same order (a count alone would score a
        // model with two classes swapped against the wrong labels).
        let (net, info) = try loadResNet(path, for: test, data: dir, use: "as the baseline")
        let a = Evaluator.predict(net, test, normalization: info.normalization).accuracy
        note("baseline \(path): \(pct(a)) on \(test.count) test images")
        return a
    }

    func recipeGrid() throws -> [FusionConfig] {
        var out: [FusionConfig] = []
        for a in try parseList(metaAgree, flag: "--meta-agree") {
            for m in try parseList(metaDropout, flag: "--meta-dropout") {
                for i in try parseList(imageDropout, flag: "--image-dropout") {
                    var c = FusionConfig()
                    c.train.width = width; c.train.epochs = epochs; c.train.seed = seed; c.train.batchSize = batchSize
                    c.train.lr = lr; c.train.labelSmoothing = labelSmoothing; c.train.augment = !noAugment
                    c.hidden = hidden; c.metaAgree = a; c.metaDropout = m; c.imageDropout = i
                    c.freezeImage = freezeImage
                    try c.validate()
                    out.append(c)
                }
            }
        }
        return out
    }

    func recipeName(_ c: FusionConfig) -> String {
        "agree\(short(c.metaAgree))-pm\(short(c.metaDropout))-pi\(short(c.imageDropout))"
            + (imageModel == nil ? "" : freezeImage ? "-frozen" : "-pretrained")
    }

    func short(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : fmt(v, 2) }
    func pct(_ v: Double) -> String { fmt(100 * v, 2) + "%" }

    /// The image-only conflict check as a gate, on true and on contradicting claims.
    func gated(_ o: Outcome) -> Outcome {
        var o = o
        let r = o.report, k = r.imageOnlyProbabilities.count / max(r.images, 1)
        o.gateTrue = ModalityConflict.verdictCounts(probabilities: r.imageOnlyProbabilities, claims: r.labels, classes: k)
        o.gateWrong = ModalityConflict.verdictCounts(probabilities: r.imageOnlyProbabilities, claims: r.conflictClaims, classes: k)
        return o
    }

    /// True when the recipe meets the issue's bar: on conflicts the image is followed at least
    /// as often as the image-only accuracy minus 5 points, and consistent pairs are at least
    /// as accurate as the plain ResNet-18.
    func meetsTarget(_ r: ModalityReport, baseline: Double?) -> Bool? {
        guard let b = baseline else { return nil }
        return r.share(r.followedImage) >= r.imageOnlyAccuracy - 0.05 && r.consistentAccuracy >= b
    }

    func summarize(_ o: Outcome, baseline: Double?) {
        let r = o.report
        print("")
        print("\(o.recipe): conflict test, \(r.images) test images each claimed as a random other class")
        print("  followed metadata  \(padLeft(String(r.followedMetadata), 6)) / \(r.images)  \(padLeft(pct(r.share(r.followedMetadata)), 7))   (study: 81.6%)")
        print("  followed image     \(padLeft(String(r.followedImage), 6)) / \(r.images)  \(padLeft(pct(r.share(r.followedImage)), 7))   (study: 11.2%)")
        print("  neither            \(padLeft(String(r.neither), 6)) / \(r.images)  \(padLeft(pct(r.share(r.neither)), 7))   (study: 7.2%)")
        print("  of the \(r.imageOnlyRight) conflicts whose image the image-only path gets right, \(r.followedImageWhereImageOnlyRight) (\(pct(Double(r.followedImageWhereImageOnlyRight) / Double(max(r.imageOnlyRight, 1))))) followed the image")
        print("  accuracy: consistent pairs \(pct(r.consistentAccuracy)), image only (claim missing) \(pct(r.imageOnlyAccuracy)), metadata only (image zeroed) \(pct(r.metadataOnlyAccuracy))"
              + (baseline.map { ", plain ResNet-18 \(pct($0))" } ?? ""))
        print("  permutation reliance: claims shuffled \(pct(r.metadataPermutedAccuracy)) (-\(fmt(100 * r.metadataReliance, 2)) points), images shuffled \(pct(r.imagePermutedAccuracy)) (-\(fmt(100 * r.imageReliance, 2)) points)")
        let n = r.images
        func row(_ name: String, _ g: [Verdict: Int]) -> String {
            padRight(name, 22) + [Verdict.consistent, .uncertain, .conflict].map { v in
                padLeft("\(g[v] ?? 0) (\(fmt(100 * Double(g[v] ?? 0) / Double(max(n, 1)), 1))%)", 16)
            }.joined()
        }
        print("  conflict gate (the image-only path judges each claim, default thresholds):")
        print("  " + padRight("claims", 22) + ["accept", "review", "reject"].map { padLeft($0, 16) }.joined())
        print("  " + row("true claims", o.gateTrue))
        print("  " + row("contradicting claims", o.gateWrong))
        if let t = meetsTarget(r, baseline: baseline) {
            print("  target (follow image >= image only - 5 points, consistent >= plain ResNet-18): \(t ? "met" : "not met")")
        }
        fflushStdout()
    }

    func sweepTable(_ outcomes: [Outcome], baseline: Double?) {
        print("")
        print("sweep (\(outcomes[0].report.images) conflicts each; shares and accuracies in %; reliance in points)")
        let cols = ["follow_meta", "follow_img", "neither", "img_only", "meta_only", "consistent", "rel_meta", "rel_img"]
        print(padRight("recipe", 34) + cols.map { padLeft($0, 11) }.joined() + (baseline == nil ? "" : "  target"))
        for o in outcomes {
            let r = o.report
            let v = [r.share(r.followedMetadata), r.share(r.followedImage), r.share(r.neither), r.imageOnlyAccuracy,
                     r.metadataOnlyAccuracy, r.consistentAccuracy, r.metadataReliance, r.imageReliance]
            print(padRight(o.recipe, 34) + v.map { padLeft(fmt(100 * $0, 2), 11) }.joined()
                  + (meetsTarget(r, baseline: baseline).map { $0 ? "  met" : "  -" } ?? ""))
        }
        fflushStdout()
    }

    func write(_ outcomes: [Outcome], dataPath: String, baseline: Double?, modelInfo: (hidden: Int, width: Int), seconds: Double) throws {
        var csv = "recipe,meta_agree,meta_dropout,image_dropout,image_start,images,followed_metadata,followed_image,neither,"
            + "image_only_accuracy,metadata_only_accuracy,consistent_accuracy,metadata_permuted_accuracy,image_permuted_accuracy,"
            + "metadata_reliance,image_reliance,gate_true_accept,gate_true_review,gate_true_reject,gate_wrong_accept,gate_wrong_review,gate_wrong_reject,meets_target\n"
        var epochsCSV = "recipe,epoch,train_loss,train_accuracy,consistent_accuracy,image_only_accuracy,followed_metadata_share,followed_image_share,seconds\n"
        var rows: [JSON] = []
        let start = imageModel == nil ? "scratch" : freezeImage ? "frozen" : "pretrained"
        for o in outcomes {
            let r = o.report, c = o.config
            let t = meetsTarget(r, baseline: baseline)
            csv += [csvField(o.recipe), c.map { "\($0.metaAgree)" } ?? "", c.map { "\($0.metaDropout)" } ?? "", c.map { "\($0.imageDropout)" } ?? "",
                    c == nil ? "loaded" : start, "\(r.images)", "\(r.followedMetadata)", "\(r.followedImage)", "\(r.neither)",
                    "\(r.imageOnlyAccuracy)", "\(r.metadataOnlyAccuracy)", "\(r.consistentAccuracy)", "\(r.metadataPermutedAccuracy)",
                    "\(r.imagePermutedAccuracy)", "\(r.metadataReliance)", "\(r.imageReliance)",
                    "\(o.gateTrue[.consistent] ?? 0)", "\(o.gateTrue[.uncertain] ?? 0)", "\(o.gateTrue[.conflict] ?? 0)",
                    "\(o.gateWrong[.consistent] ?? 0)", "\(o.gateWrong[.uncertain] ?? 0)", "\(o.gateWrong[.conflict] ?? 0)",
                    t.map { $0 ? "1" : "0" } ?? ""].joined(separator: ",") + "\n"
            for e in o.epochs {
                epochsCSV += "\(csvField(o.recipe)),\(e.epoch),\(e.loss),\(e.trainAccuracy),\(e.consistent),\(e.imageOnly),\(e.followedMetadata),\(e.followedImage),\(fmt(e.seconds, 2))\n"
            }
            func gate(_ g: [Verdict: Int]) -> JSON {
                .object([("accept", .int(Int64(g[.consistent] ?? 0))), ("review", .int(Int64(g[.uncertain] ?? 0))), ("reject", .int(Int64(g[.conflict] ?? 0)))])
            }
            var f: [(String, JSON)] = [("recipe", .string(o.recipe))]
            if let c {
                f += [("meta_agree", .double(c.metaAgree)), ("meta_dropout", .double(c.metaDropout)), ("image_dropout", .double(c.imageDropout)),
                      ("image_start", .string(start)), ("epochs", .int(Int64(c.train.epochs))), ("seed", .int(Int64(bitPattern: c.train.seed)))]
            }
            f += [("conflict", .object([("images", .int(Int64(r.images))), ("followed_metadata", .int(Int64(r.followedMetadata))),
                                        ("followed_image", .int(Int64(r.followedImage))), ("neither", .int(Int64(r.neither))),
                                        ("image_only_right", .int(Int64(r.imageOnlyRight))),
                                        ("followed_image_where_image_only_right", .int(Int64(r.followedImageWhereImageOnlyRight)))])),
                  ("image_only_accuracy", .double(r.imageOnlyAccuracy)), ("metadata_only_accuracy", .double(r.metadataOnlyAccuracy)),
                  ("consistent_accuracy", .double(r.consistentAccuracy)),
                  ("permutation", .object([("metadata_permuted_accuracy", .double(r.metadataPermutedAccuracy)),
                                           ("image_permuted_accuracy", .double(r.imagePermutedAccuracy)),
                                           ("metadata_reliance", .double(r.metadataReliance)), ("image_reliance", .double(r.imageReliance))])),
                  ("gate", .object([("true_claims", gate(o.gateTrue)), ("contradicting_claims", gate(o.gateWrong))])),
                  ("history", .array(o.epochs.map { e in .object([
                      ("epoch", .int(Int64(e.epoch))), ("train_loss", .double(e.loss)), ("train_accuracy", .double(e.trainAccuracy)),
                      ("consistent_accuracy", .double(e.consistent)), ("image_only_accuracy", .double(e.imageOnly)),
                      ("followed_metadata_share", .double(e.followedMetadata)), ("followed_image_share", .double(e.followedImage)),
                      ("seconds", .double(e.seconds))]) }))]
            if let t { f.append(("meets_target", .bool(t))) }
            rows.append(.object(f))
        }
        let doc = JSON.object([("data", .string(dataPath)), ("width", .int(Int64(modelInfo.width))), ("hidden", .int(Int64(modelInfo.hidden))),
                               ("conflict_seed", .int(Int64(bitPattern: conflictSeed))),
                               ("baseline_accuracy", baseline.map { .double($0) } ?? .null),
                               ("study", .object([("followed_metadata", .double(0.816)), ("followed_image", .double(0.112)), ("neither", .double(0.072)), ("images", .int(500))])),
                               ("recipes", .array(rows)), ("seconds", .double(seconds))])
        try FileIO.writeAtomically(joinPath(out, "fusion.csv"), text: csv)
        try FileIO.writeAtomically(joinPath(out, "epochs.csv"), text: epochsCSV)
        try FileIO.writeAtomically(joinPath(out, "fusion.json"), text: doc.serialized + "\n")
        let svg = SVGChart.stackedBars(
            title: "Conflict test: what the prediction followed (\(outcomes[0].report.images) test images, claim = another class)",
            rows: outcomes.map(\.recipe), segments: ["followed image", "neither", "followed metadata"],
            values: outcomes.map { o in [o.report.share(o.report.followedImage), o.report.share(o.report.neither), o.report.share(o.report.followedMetadata)] },
            markers: ("image-only accuracy", outcomes.map(\.report.imageOnlyAccuracy)),
            colors: ["#1f77b4", "#bbbbbb", "#d62728"])
        try FileIO.writeAtomically(joinPath(out, "fusion.svg"), text: svg)
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
