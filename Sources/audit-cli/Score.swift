import ArgumentParser
import RobustCore
#if canImport(Glibc)
import Glibc
#endif

/// Scores image files with a trained model: prediction, confidence, entropy, image quality
/// and, with --meta, the image-versus-claim verdict; and the gate's decision. With a FusionNet
/// model the scores come from its image-only path and the fused prediction is shown beside. Exit status 0: every image accepted;
/// 1: at least one flagged (review or reject, unreadable images included); 2: an error
/// (no model, bad arguments, a file that cannot be read).
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score images: prediction, confidence, entropy, and whether they agree with a claimed class.",
        discussion: """
            Exit status: 0 all accepted, 1 some flagged (review/reject), 2 error.
            Image paths come from the arguments, or from stdin (one per line) when none are given or the only one is '-'.
            A stdin line may be PATH<TAB>CLASS: that image's claimed class, overriding --meta.
            The model is --model, else $ROBUST_MODEL, else the default model shipped in models/.
            A FusionNet model (audit-cli fusion --save-models) scores with its image-only path, which also
            judges the claim; with --meta it also prints the fused prediction (image and claim together)
            and whether it followed the claim or the image.
            """)

    @Argument(help: "Image files (PNG or JPEG); '-' or none: read paths from stdin.") var images: [String] = []
    @Option(help: "Claimed class (name or index) for every image.") var meta: String?
    @Option(help: "Model file (safetensors).") var model: String?
    @Flag(help: "One JSON object per image instead of a readable line.") var json = false
    @Flag(help: "Also print every class probability (JSON only).") var probabilities = false
    @Option(help: "Gate: review when the top class has less probability than this.") var minConfidence: Float = 0.3
    @Option(help: "Gate: review when the normalized entropy is above this.") var maxEntropy: Float = 0.6
    @Option(help: "Verdict: conflict when the claim has at most this probability (and another class at least --conflict-confidence).")
    var conflictProbability: Float = 0.1
    @Option(help: "Verdict: conflict needs another class with at least this probability.") var conflictConfidence: Float = 0.5
    @Option(help: "Gate: image-quality thresholds, a file from `audit-cli quality --calibrate` (default: CIFAR-10's, built in).")
    var quality: String?
    @Flag(help: "Gate: skip the image-quality check (noise, blur, exposure, information).") var noQuality = false
    @Option(help: "Images scored per batch.") var batch = 64
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func validate() throws {
        for (name, v) in [("--min-confidence", minConfidence), ("--max-entropy", maxEntropy),
                          ("--conflict-probability", conflictProbability), ("--conflict-confidence", conflictConfidence)]
            where !(v >= 0 && v <= 1) { throw ValidationError("\(name) must lie in [0, 1]") }
        if batch < 1 || batch > Classifier.maxBatch { throw ValidationError("--batch must be in 1...\(Classifier.maxBatch)") }
        if noQuality && quality != nil { throw ValidationError("--no-quality and --quality exclude each other") }
    }

    func run() throws {
        if let t = threads { Threads.set(t) }
        var policy = GatePolicy()
        policy.minConfidence = minConfidence
        policy.maxNormalizedEntropy = maxEntropy
        policy.conflict.conflictProbability = conflictProbability
        policy.conflict.conflictConfidence = conflictConfidence
        let clf: Classifier
        let claim: Int?
        do {
            policy.quality = noQuality ? nil : try quality.map(QualityCalibration.load) ?? .cifar10
            clf = try Classifier(path: try resolveModelPath(model))
            claim = try meta.map { try clf.classIndex($0) }
        } catch let e as RobustError {
            note("error: \(e)")
            throw ExitCode(ExitStatus.failed)
        }
        let paths = images.isEmpty || images == ["-"] ? StdinLines() : StdinLines(fixed: images)
        var counts = [GateDecision: Int](), errors = 0, total = 0
        var pending: [(String, RGBImage, Int?)] = []
        let t0 = monotonicSeconds()
        let progress = ProgressLine()

        func flush() throws {
            guard !pending.isEmpty else { return }
            let scores = try clf.scoreWithMetadata(pending.map(\.1), claimed: pending.map(\.2), policy: policy.conflict,
                                                   fused: clf.hasMetadata)
            for ((path, img, _), (s, fused)) in zip(pending, scores) {
                let q = policy.quality.map { $0.measure(img) }
                let (d, r) = policy.decide(s, quality: q.map { policy.quality!.flags($0) } ?? [])
                counts[d, default: 0] += 1
                emit(path: path, decision: d, reasons: r, score: s, names: clf.classNames, quality: q, fused: fused)
            }
            total += pending.count
            pending.removeAll(keepingCapacity: true)
            progress.update("scored \(total) images, \(fmt(Double(total) / (monotonicSeconds() - t0), 0)) img/s")
        }

        while let (path, lineClaim) = paths.next() {
            do {
                let c = try lineClaim.map { try clf.classIndex($0) } ?? claim
                pending.append((path, try ImageCodec.decodeFile(path, maxPixels: clf.maxPixels), c))
            } catch let e as RobustError {
                if case .decode = e {
                    counts[.reject, default: 0] += 1
                    emit(path: path, decision: .reject, reasons: .unreadable, score: nil, names: clf.classNames, error: "\(e)")
                } else {
                    errors += 1
                    note("error: \(e)")
                }
            }
            if pending.count >= batch { try flush() }
        }
        try flush()
        progress.finish()
        let n = counts.values.reduce(0, +)
        note("\(n) images: \(counts[.accept] ?? 0) accepted, \(counts[.review] ?? 0) to review, \(counts[.reject] ?? 0) rejected"
             + (errors > 0 ? ", \(errors) errors" : "") + " (\(fmt(monotonicSeconds() - t0, 1)) s)")
        fflushStdout()
        if n == 0 && errors == 0 { note("error: no images given: pass paths as arguments, or one per line on stdin") }
        if errors > 0 || n == 0 { throw ExitCode(ExitStatus.failed) }
        if (counts[.review] ?? 0) + (counts[.reject] ?? 0) > 0 { throw ExitCode(ExitStatus.flagged) }
    }

    func emit(path: String, decision: GateDecision, reasons: GateReasons, score s: Score?, names: [String],
              quality q: ImageQuality? = nil, error: String? = nil, fused: Score? = nil) {
        if json {
            var kv: [(String, JSON)] = [("path", .string(path)), ("decision", .string(decision.name)),
                                        ("reasons", .array(reasons.names.map { .string($0) }))]
            if let s {
                kv += [("predicted", .string(s.predictedName)), ("predicted_index", .int(Int64(s.predicted))),
                       ("confidence", .double(Double(s.confidence))), ("entropy", .double(Double(s.entropy))),
                       ("entropy_normalized", .double(Double(s.normalizedEntropy))), ("margin", .double(Double(s.margin)))]
                if let c = s.claimed {
                    kv += [("claimed", .string(names[c])), ("claimed_probability", .double(Double(s.claimedProbability!))),
                           ("verdict", .string(s.verdict!.name))]
                }
                if probabilities { kv.append(("probabilities", .array(s.probabilities.map { .double(Double($0)) }))) }
                if let f = fused {
                    kv += [("fused_predicted", .string(f.predictedName)), ("fused_confidence", .double(Double(f.confidence)))]
                    if let c = s.claimed { kv.append(("fused_followed", .string(followed(f.predicted, claimed: c, image: s.predicted)))) }
                }
            }
            if let q {
                kv.append(("quality", .object([("detail", .double(q.detail)), ("sharpness", .double(q.sharpness)),
                                               ("brightness", .double(q.brightness)), ("contrast", .double(q.contrast)),
                                               ("entropy_bits", .double(q.entropy))])))
            }
            if let error { kv.append(("error", .string(error))) }
            print(JSON.object(kv).serialized)
            return
        }
        var line = "\(path): \(decision.name)"
        if let s {
            line += "  \(s.predictedName) \(fmt(Double(s.confidence), 3))  entropy \(fmt(Double(s.normalizedEntropy), 3))"
            if let c = s.claimed { line += "  claimed \(names[c]) \(fmt(Double(s.claimedProbability!), 3)) (\(s.verdict!.name))" }
            if let f = fused, let c = s.claimed {
                line += "  fused \(f.predictedName) \(fmt(Double(f.confidence), 3)) (\(followed(f.predicted, claimed: c, image: s.predicted)))"
            }
        }
        if !reasons.isEmpty { line += "  [" + reasons.names.joined(separator: ", ") + "]" }
        if let error { line += "  " + error }
        print(line)
    }
}

/// What a FusionNet's fused prediction did with the claim, when the image alone says `image`.
func followed(_ fused: Int, claimed: Int, image: Int) -> String {
    if claimed == image { return fused == claimed ? "agrees" : "neither" }
    return fused == claimed ? "followed the claim" : fused == image ? "followed the image" : "neither"
}

/// Image paths from a fixed list or from stdin, one per line (blank lines skipped); a stdin
/// line may carry a claimed class after a tab.
final class StdinLines {
    private var fixed: [String]?
    private var index = 0
    init(fixed: [String]? = nil) { self.fixed = fixed }
    func next() -> (String, String?)? {
        if let f = fixed {
            defer { index += 1 }
            return index < f.count ? (f[index], nil) : nil
        }
        while let line = readLine() {
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            let path = String(parts[0]).trimmingCharacters(in: [" ", "\r"])
            if path.isEmpty { continue }
            let c = parts.count > 1 ? String(parts[1]).trimmingCharacters(in: [" ", "\t", "\r"]) : ""
            return (path, c.isEmpty ? nil : c)
        }
        return nil
    }
}

extension String {
    func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}

/// --model, else $ROBUST_MODEL, else the default model in the repository's models/ folder
/// (found from the executable's location, so it works from any working directory).
func resolveModelPath(_ flag: String?) throws -> String {
    if let f = flag { return f }
    if let e = getenv("ROBUST_MODEL") { return String(cString: e) }
    let name = "models/cifar10-resnet18-w16.safetensors"
    var candidates = [name]
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    if n > 0 {
        var dir = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for _ in 0..<6 {
            guard let slash = dir.lastIndex(of: "/") else { break }
            dir = String(dir[..<slash])
            candidates.append(dir + "/" + name)
        }
    }
    for c in candidates where FileIO.exists(c) { return c }
    throw RobustError.invalidArgument("no model: pass --model FILE or set ROBUST_MODEL (the default \(name) was not found)")
}
