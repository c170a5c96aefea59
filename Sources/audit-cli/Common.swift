// Helpers shared by the subcommands: where the data is, and talking to the terminal.
import ArgumentParser
import RobustCore
#if canImport(Glibc)
import Glibc
#endif

/// stderr, unbuffered: progress and diagnostics. Results go to stdout.
func note(_ s: String) { writeStderr(s + "\n") }

func writeStderr(_ s: String) {
    var s = s
    s.withUTF8 { b in _ = write(2, b.baseAddress, b.count) }
}

/// A progress line rewritten in place on a terminal, at most ~4 times a second.
final class ProgressLine {
    private var last = 0.0
    private let tty = isatty(2) != 0
    func update(_ s: String, force: Bool = false) {
        let now = monotonicSeconds()
        guard force || now - last > (tty ? 0.25 : 10) else { return }
        last = now
        if tty { writeStderr("\r\u{1B}[2K" + s) } else { writeStderr(s + "\n") }
    }
    func finish() { if tty { writeStderr("\n") } }
}

/// Evaluator.predict with a progress line on stderr: scoring the 50,000 training images over
/// several views, or with several models, takes minutes.
func predictShowingProgress(_ what: String, _ model: ResNet18, _ ds: Dataset, normalization: Normalization,
                            batchSize: Int = 256, views: Int = 1) -> Predictions {
    let progress = ScoringProgress(views: views)
    let p = Evaluator.predict(model, ds, normalization: normalization, batchSize: batchSize, views: views) { done, total in
        progress.update(what, done: done, total: total)
    }
    progress.finish()
    return p
}

/// The progress line of a scoring pass: "what: done/total images x V views, img/s, ETA",
/// its rate timed from creation or the last start().
final class ScoringProgress {
    private let line = ProgressLine()
    private let views: Int
    private var t0 = monotonicSeconds()
    init(views: Int) { self.views = views }
    func start() { t0 = monotonicSeconds() }
    func update(_ what: String, done: Int, total: Int) {
        let rate = Double(done * views) / max(monotonicSeconds() - t0, 1e-9)
        line.update("\(what): \(done)/\(total) images x \(views) view\(views == 1 ? "" : "s"), \(Int(rate)) img/s, "
                    + "ETA \(formatDuration(Double((total - done) * views) / max(rate, 1e-9)))")
    }
    func finish() { line.finish() }
}

func formatDuration(_ s: Double) -> String {
    let t = Int(s.rounded())
    return t >= 3600 ? "\(t / 3600)h\(pad2((t % 3600) / 60))m" : "\(t / 60)m\(pad2(t % 60))s"
}

func pad2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

func fmt(_ v: Double, _ digits: Int = 2) -> String {
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (v * p).rounded() / p
    var s = "\(r)"
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
    } else if digits > 0 { s += "." + String(repeating: "0", count: digits) }
    return s
}

func padLeft(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
func padRight(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

/// The data folder: --data, else $ROBUST_DATA, else ../shared/data/cifar10-jpeg if present.
func resolveDataPath(_ flag: String?) throws -> String {
    if let f = flag { return f }
    if let e = getenv("ROBUST_DATA") { return String(cString: e) }
    for c in ["../shared/data/cifar10-jpeg", "shared/data/cifar10-jpeg"] where FileIO.isDirectory(c) { return c }
    throw ValidationError("no data: pass --data DIR or set ROBUST_DATA (a folder with train/ and test/ class folders, or CIFAR-10 .bin files)")
}

struct LoadedData {
    var train: Dataset?
    var test: Dataset?
}

/// Reads a data folder: CIFAR-10 binaries (data_batch_*.bin, test_batch.bin), or image folders
/// train/<class>/* and test/<class>/*, or a bare <class>/* folder (treated as the only split).
func loadData(_ dir: String, needTrain: Bool, needTest: Bool, skipBad: Bool, limitPerClass: Int? = nil,
              classes: [String]? = nil) throws -> LoadedData {
    var out = LoadedData()
    let t0 = monotonicSeconds()
    if FileIO.exists(joinPath(dir, "data_batch_1.bin")) || FileIO.exists(joinPath(dir, "test_batch.bin")) {
        // The first limitPerClass images of each class, as the folder loader takes them.
        func limited(_ ds: Dataset) -> Dataset {
            guard let l = limitPerClass else { return ds }
            var seen = [Int](repeating: 0, count: ds.classNames.count)
            return ds.subset(ds.labels.indices.filter { i in seen[Int(ds.labels[i])] += 1; return seen[Int(ds.labels[i])] <= l })
        }
        if needTrain { out.train = limited(try CIFARBinary.load(directory: dir, train: true)) }
        if needTest, FileIO.exists(joinPath(dir, "test_batch.bin")) { out.test = limited(try CIFARBinary.load(directory: dir, train: false)) }
    } else {
        let trainDir = joinPath(dir, "train"), testDir = joinPath(dir, "test")
        let hasSplits = FileIO.isDirectory(trainDir)
        func folder(_ path: String, _ cls: [String]?) throws -> Dataset {
            let line = ProgressLine()
            let (ds, report) = try ImageFolder.load(path, classes: cls, onBadFile: skipBad ? .skip : .stop,
                                                     limitPerClass: limitPerClass) { done, total in
                line.update("decoding \(path): \(done)/\(total)")
            }
            line.finish()
            note("\(path): " + report.summary)
            return ds
        }
        if hasSplits {
            if needTrain { out.train = try folder(trainDir, classes) }
            if needTest, FileIO.isDirectory(testDir) { out.test = try folder(testDir, classes ?? out.train?.classNames) }
        } else {
            let ds = try folder(dir, classes)
            if needTrain { out.train = ds } else { out.test = ds }
        }
    }
    note("data ready in \(fmt(monotonicSeconds() - t0, 1)) s: train \(out.train?.count ?? 0), test \(out.test?.count ?? 0) images")
    return out
}

/// Exit statuses, the same for every subcommand (README, "Exit statuses").
enum ExitStatus {
    /// The command ran and found nothing to flag.
    static let ok: Int32 = 0
    /// The command ran and flagged something (score: an image to review or reject; quality: an
    /// image with a quality problem): a result, not a failure.
    static let flagged: Int32 = 1
    /// The command could not do its job: a missing or unreadable file, a file that is not what
    /// it should be, an unknown class, an empty folder, a full disk. One line on stderr says which.
    static let failed: Int32 = 2
    /// Usage: an unknown flag, a missing or malformed value (swift-argument-parser's EX_USAGE).
    static let usage: Int32 = 64
}

/// Fails before any work when a file cannot be created because its folder is missing (or is
/// not a folder): better than an error after an hour of training.
func requireParentFolder(_ path: String) throws {
    guard let slash = path.lastIndex(of: "/") else { return }
    let dir = slash == path.startIndex ? "/" : String(path[..<slash])
    guard FileIO.isDirectory(dir) else {
        throw RobustError.io(path: path, reason: "cannot be written: folder \(dir) does not exist")
    }
}

/// Runs a throwing body and turns RobustError into a clean exit with the message.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as RobustError {
        note("error: \(e)")
        throw ExitCode(ExitStatus.failed)
    }
}

func fflushStdout() { fflush(nil) }

/// A CSV field, quoted when it holds a comma, quote or newline.
func csvField(_ s: String) -> String {
    guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return s }
    return "\"" + s.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
}

/// A model (--model or the default) and the test split of a data folder (--data or the
/// default), checked to have the same number of classes: what eval, robustness and fourier
/// start from.
func loadModelAndTestSet(model: String?, data: String?) throws
    -> (modelPath: String, net: ResNet18, info: ModelInfo, dataPath: String, test: Dataset) {
    let modelPath = try resolveModelPath(model)
    let (net, info) = try ModelIO.loadResNet(path: modelPath)
    let dir = try resolveDataPath(data)
    let d = try loadData(dir, needTrain: false, needTest: true, skipBad: true, classes: info.classNames)
    guard let test = d.test, test.count > 0 else { throw RobustError.invalidArgument("\(dir): no test images") }
    guard test.classNames.count == info.classNames.count else {
        throw RobustError.invalidArgument("\(modelPath) has \(info.classNames.count) classes but \(dir) has \(test.classNames.count)")
    }
    return (modelPath, net, info, dir, test)
}

/// A trained ResNet-18 file for use on a training set: its classes must be the data's, in the
/// same order (a label index must mean the same class to both), and with `width` it must have
/// that width (`use` ends the width error's advice: "to train on from it"). One check and one
/// wording for every command that takes a model for a dataset (train --init-from, train --teacher,
/// audit-labels --model, report --model, fusion --image-model).
func loadResNet(_ path: String, for train: Dataset, data dir: String, width: Int? = nil,
                use: String = "to use it") throws -> (ResNet18, ModelInfo) {
    let (net, info) = try ModelIO.loadResNet(path: path)
    guard info.classNames == train.classNames else {
        throw RobustError.invalidArgument("\(path): the model's classes \(info.classNames.joined(separator: ",")) "
            + "are not \(dir)'s \(train.classNames.joined(separator: ","))")
    }
    if let w = width, info.width != w {
        throw RobustError.invalidArgument("\(path): a width-\(info.width) model; pass --width \(info.width) \(use)")
    }
    return (net, info)
}

/// `--views` (and `--flip-tta`, its older spelling of 2) wherever a trained model scores images:
/// the checks live here once, and the default of a trained model's pass (a label run's final
/// pass defaults to 2 views instead: `LabelTrainingOptions.finalViews`).
enum TestTimeViewsOption {
    /// --views must be a supported count, and --flip-tta may only repeat --views 2.
    static func validate(_ views: Int?, flipTta: Bool = false) throws {
        if let v = views, !TestTimeViews.supported.contains(v) {
            throw ValidationError("--views must be one of \(TestTimeViews.supported.map(String.init).joined(separator: ", "))")
        }
        if flipTta && views != nil && views != 2 { throw ValidationError("--flip-tta is --views 2: give one of them") }
    }

    /// The views a trained model's pass averages: --views, else 2 with --flip-tta, else 1.
    static func resolve(_ views: Int?, flipTta: Bool) -> Int { views ?? (flipTta ? 2 : 1) }
}
