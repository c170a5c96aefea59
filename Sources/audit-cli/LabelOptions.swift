// Options and output shared by the two label-audit commands (label-noise, audit-labels).
import ArgumentParser
import RobustCore

struct LabelTrainingOptions: ParsableArguments {
    @Option(help: "Data folder: train/ (and test/) class folders, or CIFAR-10 .bin files (default: $ROBUST_DATA).")
    var data: String?
    @Option(help: "Width multiplier w (stages are w, 2w, 4w, 8w).") var width = 16
    @Option(help: "Training epochs.") var epochs = 15
    @Option(help: "Random seed (initialization, order, augmentation).") var seed: UInt64 = 0
    @Option(help: "Where the dynamics come from: eval (a clean pass over the training set after each epoch) or train (the training step's own logits, free).")
    var dynamics: DynamicsPass = .eval
    @Option(help: "Epochs whose softmax outputs the rate-free rule uses: all (their mean), late (the mean of the later half), last (a final clean pass averaged over --views test-time views), early (the mean up to the Label Wave epoch, where prediction changes first rise again) or auto: last, unless the network memorized the wrong labels after the early window, then early.")
    var window: RuleWindow = .auto
    @Option(help: "Score the rule ranks by within each class (default: the window's self-confidence, 1 - p(given)): \(LabelScores.names.joined(separator: ", ")).")
    var rankBy: String?
    @Option(help: "Also compute out-of-sample probabilities by K-fold cross-validation (K more trainings on (K-1)/K of the data); the decision then uses them (ranked by self-confidence).")
    var folds = 0
    @Option(help: "Members of the auditor: N >= 2 trains N-1 more models on the same labels with other seeds and averages their final passes' outputs (--views) with the audited run's; the decision and soft targets then use the average.")
    var ensemble = 1
    @Option(help: "How the rule picks the samples it flags from the confident joint: by-class (each class's estimated count, lowest self-confidence first), by-noise-rate (each class pair's count, largest margin towards the other class: cleanlab's default; better for structured noise) or both.")
    var filter: PruneFilter = .byClass
    @Option(help: "Test-time views the final clean pass (the last window) averages: 1 (the image), 2 (and its mirror image; the default, except audit-labels --model: 1), 4 or 6 (and both shifted by (2,2), then (-2,-2) pixels). Each view is one more pass over the training set.")
    var views: Int?
    @Option(help: "Only these classes, comma-separated (e.g. cat,dog).") var classes: String?
    @Option(help: "Batch size.") var batchSize = 128
    @Option(help: "Peak learning rate.") var lr: Float = 0.1
    @Option(help: "Label smoothing epsilon.") var labelSmoothing: Float = 0.1
    @Flag(help: "Disable crop+flip augmentation (memorization comes sooner).") var noAugment = false
    @Option(help: "Use at most this many images per class.") var limitPerClass: Int?
    @Flag(help: "Skip the per-epoch test-set evaluation.") var noTest = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func validate() throws {
        if let r = rankBy, !LabelScores.names.contains(r) {
            throw ValidationError("--rank-by must be one of \(LabelScores.names.joined(separator: ", "))")
        }
        if folds == 1 || folds < 0 { throw ValidationError("--folds must be 0 (off) or at least 2") }
        if ensemble < 1 { throw ValidationError("--ensemble must be at least 1 (the audited run alone)") }
        if ensemble > 1 && folds > 0 { throw ValidationError("--ensemble and --folds are alternatives: choose one way to get better probabilities") }
        if (ensemble > 1 || folds > 0) && rankBy != nil {
            throw ValidationError("--rank-by ranks a single run's dynamics: with --ensemble or --folds the decision ranks by the self-confidence of their probabilities")
        }
        if ensemble > 1 && window != .last && window != .auto {
            throw ValidationError("--ensemble averages final clean passes: it needs --window last or auto (the default)")
        }
        try TestTimeViewsOption.validate(views)
        if let l = limitPerClass, l < 1 { throw ValidationError("--limit-per-class must be at least 1") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        if let c = classes, classList(c).count < 2 { throw ValidationError("--classes needs at least two class names") }
    }

    var classNames: [String]? { classes.map(classList) }
    /// The final pass's views: the image and its mirror image unless --views says otherwise.
    var finalViews: Int { views ?? 2 }
    /// How messages name the final pass: "flip-averaged" (2 views) or "N-view".
    var finalPassAdjective: String { finalViews == 2 ? "flip-averaged" : finalViews == 1 ? "single-view" : "\(finalViews)-view" }

    func config() throws -> TrainConfig {
        var c = TrainConfig()
        c.width = width; c.epochs = epochs; c.seed = seed; c.batchSize = batchSize; c.lr = lr
        c.labelSmoothing = labelSmoothing
        c.augment = !noAugment
        try c.validate()
        return c
    }

    func load() throws -> (train: Dataset, test: Dataset?) {
        if let t = threads { Threads.set(t) }
        let dir = try resolveDataPath(data)
        let d = try loadData(dir, needTrain: true, needTest: !noTest, skipBad: true, limitPerClass: limitPerClass,
                             classes: classNames)
        guard let train = d.train, train.count > 0 else { throw RobustError.invalidArgument("\(dir): no training images") }
        guard train.classNames.count >= 2 else {
            throw RobustError.invalidArgument("\(dir): a label audit needs at least two classes, found \(train.classNames.count)")
        }
        return (train, d.test)
    }
}

private func classList(_ s: String) -> [String] {
    s.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}

extension DynamicsPass: ExpressibleByArgument {}
extension NoiseKind: ExpressibleByArgument {}
extension RuleWindow: ExpressibleByArgument {}
extension PruneFilter: ExpressibleByArgument {}

/// Trains with dynamics for the configured epochs; prints the progress line and calls
/// `afterEpoch` with each epoch's log.
func trainRecording(_ rec: DynamicsRecorder, afterEpoch: (EpochLog) throws -> Void) rethrows {
    let line = ProgressLine()
    while !rec.trainer.isFinished {
        let log = rec.runEpoch { p in
            line.update("epoch \(p.epoch)/\(p.epochs) batch \(p.batch)/\(p.batches) loss \(fmt(p.loss, 4)) acc \(fmt(100 * p.accuracy, 1))% \(Int(p.imagesPerSecond)) img/s ETA \(formatDuration(p.etaSeconds))")
        }
        line.finish()
        try afterEpoch(log)
    }
}

/// Per given class of `ds`: its images, its flagged samples, and the classes suggested for them,
/// most frequent first (class index, count), up to three.
func flagsPerClass(_ ds: Dataset, _ issues: LabelIssues) -> [(images: Int, flagged: Int, suggested: [(Int, Int)])] {
    let k = ds.classNames.count
    var count = [Int](repeating: 0, count: k), flagged = [Int](repeating: 0, count: k)
    var into = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
    for y in ds.labels { count[Int(y)] += 1 }
    for i in issues.flagged { flagged[Int(ds.labels[i])] += 1; into[Int(ds.labels[i])][Int(issues.suggested[i])] += 1 }
    return (0..<k).map { c in
        (count[c], flagged[c], into[c].indices.filter { into[c][$0] > 0 }.sorted { into[c][$0] > into[c][$1] }.prefix(3).map { ($0, into[c][$0]) })
    }
}

/// The flagged samples as CSV, most suspicious first (or every sample with `all`).
func labelIssuesCSV(_ issues: LabelIssues, dataset ds: Dataset, truth: [Int32]? = nil, all: Bool) -> String {
    let names = ds.classNames
    var flaggedRank = [Int](repeating: 0, count: ds.count)
    for (r, i) in issues.flagged.enumerated() { flaggedRank[i] = r + 1 }
    let rows = all ? ds.labels.indices.sorted { issues.score[$0] > issues.score[$1] } : issues.flagged
    var out = "rank,index,path,given_label,suggested_label,score,flagged" + (truth != nil ? ",true_label,mislabeled" : "") + "\n"
    for (r, i) in rows.enumerated() {
        let src = i < ds.sources.count ? ds.sources[i] : "#\(i)"
        var f = ["\(r + 1)", "\(i)", csvField(src), csvField(names[Int(ds.labels[i])]),
                 csvField(names[Int(issues.suggested[i])]), "\(issues.score[i])", flaggedRank[i] > 0 ? "1" : "0"]
        if let t = truth { f += [csvField(names[Int(t[i])]), t[i] != ds.labels[i] ? "1" : "0"] }
        out += f.joined(separator: ",") + "\n"
    }
    return out
}

/// Out-of-sample probabilities by K-fold cross-validation, with progress on stderr.
func crossValidate(_ train: Dataset, config: TrainConfig, folds: Int) -> [Float] {
    note("cross-validation: \(folds) folds x \(config.epochs) epochs on \((folds - 1) * train.count / folds) images each")
    let t0 = monotonicSeconds()
    return CrossValidation.outOfSampleProbabilities(train, config: config, folds: folds) { f, log in
        let done = Double(f * config.epochs + log.epoch) / Double(folds * config.epochs)
        let eta = (monotonicSeconds() - t0) / done * (1 - done)
        note("fold \(f + 1)/\(folds) epoch \(log.epoch)/\(config.epochs): loss \(fmt(log.trainLoss, 4)), \(Int(log.imagesPerSecond)) img/s, ETA \(formatDuration(eta))")
    }
}

/// The audited run's probabilities averaged with those of `members - 1` more trainings on the
/// same labels (other seeds), with progress on stderr; each member's model is saved to
/// `modelPath(m)` when given.
func ensembleProbabilities(_ train: Dataset, config: TrainConfig, members: Int, views: Int, audited: [Float],
                           modelPath: ((Int) -> String)? = nil) throws -> [Float] {
    guard members > 1 else { return audited }
    note("ensemble: \(members - 1) more training\(members > 2 ? "s" : "") x \(config.epochs) epochs on the same labels, other seeds")
    let t0 = monotonicSeconds()
    let extra = members - 1
    // The final pass over the training images (views x 50,000 on CIFAR-10: a minute or two)
    // gets a progress line of its own.
    let scoring = ScoringProgress(views: views)
    let tables = try AuditEnsemble.trainMembers(train, config: config, members: extra, views: views, onEpoch: { m, log in
        let done = Double((m - 1) * config.epochs + log.epoch) / Double(extra * config.epochs)
        let eta = (monotonicSeconds() - t0) / done * (1 - done)
        note("member \(m + 1)/\(members) epoch \(log.epoch)/\(config.epochs): loss \(fmt(log.trainLoss, 4)), \(Int(log.imagesPerSecond)) img/s, ETA \(formatDuration(eta))")
        scoring.start()  // the member's final pass follows its last epoch
    }, onScoring: { m, done, total in
        scoring.update("member \(m + 1)/\(members) scoring the training images", done: done, total: total)
        if done == total { scoring.finish() }
    }, afterMember: { m, t in
        if let path = modelPath?(m) { try t.saveModel(path) }
    })
    return AuditEnsemble.average([audited] + tables)
}

/// Of the flagged samples that really are mislabeled, the share whose suggested label is
/// the true one (what relabeling can at best repair).
func suggestionAccuracy(_ issues: LabelIssues, truth: [Int32], given: [Int32]) -> Double? {
    let tp = issues.flagged.filter { truth[$0] != given[$0] }
    guard !tp.isEmpty else { return nil }
    return Double(tp.filter { issues.suggested[$0] == truth[$0] }.count) / Double(tp.count)
}

/// Splits one CSV line into fields (RFC 4180 quotes; no newlines inside fields).
func csvSplit(_ line: Substring) -> [String] {
    var out: [String] = [], cur = "", quoted = false
    var it = line.makeIterator()
    while let c = it.next() {
        if quoted {
            if c == "\"" {
                var peek = it
                if peek.next() == "\"" { cur.append("\""); it = peek } else { quoted = false }
            } else { cur.append(c) }
        } else if c == "\"" { quoted = true } else if c == "," { out.append(cur); cur = "" } else if c != "\r" && c != "\r\n" { cur.append(c) }
    }
    out.append(cur)
    return out
}

/// A CSV file's header and its rows (fields as csvSplit splits them), each with its line number
/// (1-based, for messages). A byte-order mark, as spreadsheets write, is dropped; "\r\n" ends a
/// line as "\n" does (it is one Character in Swift, so a split on "\n" alone misses it); empty
/// lines are skipped. No header: an empty header.
func readCSV(_ path: String, limit: Int = 1 << 30) throws -> (header: [String], rows: [(line: Int, fields: [String])]) {
    var text = String(decoding: try FileIO.read(path, limit: limit), as: UTF8.self)
    if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
    var header: [String]?, rows: [(line: Int, fields: [String])] = []
    for (n, line) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated()
        where !line.isEmpty {
        if header == nil { header = csvSplit(line) } else { rows.append((n + 1, csvSplit(line))) }
    }
    return (header ?? [], rows)
}

/// Replaces the labels of `ds` by those of a CSV with a `path` column and a `given_label` (or
/// `label`) column of class names, as label-noise's noise.csv or a user's own label file.
/// Every image of the dataset must be listed (unless `dropUnlisted`); an unknown class is an
/// error; rows for paths outside the dataset are ignored; a repeated path keeps its last row.
/// With `dropUnlisted`, images the file does not list are left out instead.
///
/// Returns the file's `true_label` column in the dataset's (new) order where it has one, as
/// `label-noise`'s noise.csv does, so that an audit of those labels can be scored against
/// the truth; nil otherwise.
@discardableResult
func applyLabelFile(_ path: String, to ds: inout Dataset, dropUnlisted: Bool = false) throws -> [Int32]? {
    let (header, rows) = try readCSV(path)
    guard !header.isEmpty else { throw RobustError.format(path: path, reason: "empty label file") }
    guard let pc = header.firstIndex(of: "path"),
          let lc = header.firstIndex(of: "given_label") ?? header.firstIndex(of: "label") else {
        throw RobustError.format(path: path, reason: "needs a header with 'path' and 'given_label' (or 'label') columns")
    }
    let tc = header.firstIndex(of: "true_label")
    var byPath: [String: (given: Int32, truth: Int32)] = [:]
    for (n, f) in rows {
        guard f.count > max(pc, lc, tc ?? 0) else { throw RobustError.format(path: path, reason: "line \(n) has \(f.count) fields") }
        func classIndex(_ name: String) throws -> Int32 {
            guard let c = ds.classNames.firstIndex(of: name) else {
                throw RobustError.format(path: path, reason: "line \(n): class '\(name)' is not one of \(ds.classNames.joined(separator: ", "))")
            }
            return Int32(c)
        }
        let given = try classIndex(f[lc])
        byPath[f[pc]] = (given, try tc.map { try classIndex(f[$0]) } ?? given)
    }
    var keep: [Int] = [], truth: [Int32] = []
    for i in 0..<ds.count {
        let src = i < ds.sources.count ? ds.sources[i] : "#\(i)"
        guard let y = byPath[src] else {
            if dropUnlisted { continue }
            throw RobustError.format(path: path, reason: "no label for \(src)")
        }
        ds.labels[i] = y.given
        keep.append(i)
        truth.append(y.truth)
    }
    if keep.count < ds.count { ds = ds.subset(keep) }
    guard ds.count > 0 else { throw RobustError.format(path: path, reason: "lists none of the dataset's images") }
    return tc == nil ? nil : truth
}

/// What the prediction changes say about memorization, and which epochs `window` decides on,
/// in one line for stderr (the user's question after a long run: can the decision be trusted?).
/// `decidedBy` names what the decision uses instead of the window (ensemble, folds).
func memorizationNote(_ d: TrainingDynamics, _ m: LabelWave.Memorization, window: RuleWindow, decidedBy: String? = nil) -> String {
    var s = "prediction changes per epoch: " + d.predictionChanges.map(String.init).joined(separator: " ")
    if let w = m.waveEpoch {
        s += "; Label Wave epoch \(w) (changes rise after it); of the \(m.flaggedAtWave) samples flagged on epochs 1-\(w), \(fmt(100 * m.fittedShare, 1))% are now predicted as their given label and the final pass flags \(m.flaggedAtEnd)"
        s += m.detected ? ": memorization detected" : ": no memorization"
    } else if d.predictionChanges.count < LabelWave.smoothing + 1 {
        s += "; too few epochs for a Label Wave epoch (it needs \(LabelWave.smoothing + 2)): no memorization check"
    } else {
        s += "; no Label Wave epoch (changes only fell): no memorization"
    }
    if let other = decidedBy {
        return s + "; the decision uses \(other)" + (m.detected && other.contains("ensemble") ? ", not the early window: the members' final passes may have memorized too" : "")
    }
    switch window {
    case .auto: s += m.detected ? "; the decision uses epochs 1-\(m.waveEpoch!) (--window auto)" : "; the decision uses the final pass (--window auto)"
    case .last where m.detected: s += "; the final pass has memorized: --window auto or early decides on the early-learning window"
    default: break
    }
    return s
}

func memorizationJSON(_ d: TrainingDynamics, _ m: LabelWave.Memorization) -> JSON {
    return .object([("prediction_changes", .array(d.predictionChanges.map { .int(Int64($0)) })),
                    ("wave_epoch", m.waveEpoch.map { .int(Int64($0)) } ?? .null),
                    ("flagged_at_wave", .int(Int64(m.flaggedAtWave))), ("fitted_share", .double(m.fittedShare)),
                    ("flagged_at_end", .int(Int64(m.flaggedAtEnd))),
                    ("detected", .bool(m.detected))])
}
