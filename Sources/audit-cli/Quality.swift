// audit-cli quality: which images of a folder are noisy, blurred, too dark or light, nearly
// empty, or duplicates, against thresholds calibrated on clean images.
import ArgumentParser
import RobustCore
#if canImport(Glibc)
import Glibc
#endif

struct QualityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quality",
        abstract: "Flag damaged, odd and duplicate images: noise, blur, exposure, low information, duplicates.",
        discussion: """
        DIR is a folder of images, a folder of class folders, or a dataset with train/ and test/
        (both are checked together, so duplicates across the splits show). Images are measured at
        the size the model sees (32 x 32). Thresholds come from a calibration file made on clean
        images with --calibrate (default: models/cifar10-quality.json, calibrated on CIFAR-10's
        50,000 training images). Exit status: 0 when nothing is flagged, 1 when something is, 2 on error.
        """)

    @Argument(help: "Folder of images.") var dir: String
    @Option(help: "Calibration file (default: $ROBUST_QUALITY or models/cifar10-quality.json).") var calibration: String?
    @Option(help: "Calibrate on DIR's images (taken as clean) and write the thresholds to this file.") var calibrate: String?
    @Option(help: "Also judge each image by this model's prediction entropy (needs a calibration made with the model).")
    var model: String?
    @Option(help: "Write the flagged images (with --all: every image) and their measures to this CSV.") var out: String?
    @Flag(help: "List every image, not only the flagged ones.") var all = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        if calibrate != nil && calibration != nil { throw ValidationError("--calibrate makes a calibration; do not also pass --calibration") }
    }

    func run() throws {
        if let t = threads { Threads.set(t) }
        let flagged = try reportingErrors { () -> Int in
            let ds = try loadImages()
            guard ds.count > 0 else { throw RobustError.invalidArgument("\(dir): no images") }
            var entropies: [Double]?
            if let m = model {
                let (net, info) = try ModelIO.loadResNet(path: m)
                // Only the predictions matter here: the folder's labels need not be the model's classes.
                var images = ds
                images.labels = [Int32](repeating: 0, count: ds.count)
                let p = Evaluator.predict(net, images, normalization: info.normalization)
                let k = p.numClasses
                entropies = (0..<ds.count).map { i in
                    var h = 0.0
                    for j in 0..<k { let q = Double(p.probabilities[i * k + j]); if q > 0 { h -= q * log(q) } }
                    return h
                }
            }
            if let path = calibrate {
                let c = try QualityCalibration.calibrate(QualityAudit.measure(ds), modelEntropies: entropies, source: dir)
                try c.save(path)
                print("calibrated on \(ds.count) images of \(dir): noisy above detail \(fmt(c.noisyAbove, 4)), "
                      + "blurry below \(fmt(c.blurryBelow, 4)), dark below \(fmt(c.darkBelow, 3)), light above \(fmt(c.lightAbove, 3)), "
                      + "low information below \(fmt(c.lowInformationBelow, 2)) bits"
                      + (c.uncertainAbove.map { ", uncertain above entropy \(fmt($0, 3))" } ?? ""))
                note("wrote \(path)")
                return 0
            }
            let calPath = try resolveCalibrationPath(calibration)
            let cal = try QualityCalibration.load(calPath)
            if entropies != nil && cal.uncertainAbove == nil {
                throw RobustError.invalidArgument("\(calPath) has no model threshold: calibrate with --model to use --model here")
            }
            let t0 = monotonicSeconds()
            let r = QualityAudit.run(ds, calibration: cal, modelEntropies: entropies)
            let secs = monotonicSeconds() - t0
            let rows = ds.count
            let flaggedIdx = (0..<rows).filter { !r.flags[$0].isEmpty }
            if let out {
                var csv = "path,flags,detail,sharpness,brightness,contrast,entropy,duplicate_of,hash_bits"
                if entropies != nil { csv += ",model_entropy" }
                csv += "\n"
                for i in (all ? Array(0..<rows) : flaggedIdx) {
                    let q = r.measures[i], d = r.duplicateOf[i]
                    csv += "\(csvField(ds.sources[i])),\(r.flags[i].description),\(q.detail),\(q.sharpness),\(q.brightness),"
                    csv += "\(q.contrast),\(q.entropy),\(d.map { csvField(ds.sources[$0.index]) } ?? ""),\(d.map { String($0.bits) } ?? "")"
                    if let e = entropies { csv += ",\(e[i])" }
                    csv += "\n"
                }
                try FileIO.writeAtomically(out, text: csv)
                note("wrote \(out)")
            }
            print("\(flaggedIdx.count) of \(rows) images flagged (\(fmt(100 * Double(flaggedIdx.count) / Double(rows), 2))%), "
                  + "thresholds from \(calPath), \(fmt(secs, 2)) s")
            for (name, n) in r.counts() where n > 0 { print("  " + padRight(name, 16) + padLeft(String(n), 8)) }
            if !flaggedIdx.isEmpty {
                print("")
                print(padRight("image", 48) + padRight("flags", 24) + padLeft("detail", 8) + padLeft("bright", 8) + padLeft("entropy", 8))
                for i in flaggedIdx.prefix(20) {
                    let q = r.measures[i]
                    var why = r.flags[i].description
                    if let d = r.duplicateOf[i] { why += " of #\(d.index)" }
                    print(padRight(ds.sources[i], 47) + " " + padRight(why, 23) + " " + padLeft(fmt(q.detail, 4), 8)
                          + padLeft(fmt(q.brightness, 3), 8) + padLeft(fmt(q.entropy, 2), 8))
                }
                if flaggedIdx.count > 20 { print("... and \(flaggedIdx.count - 20) more" + (out == nil ? " (--out FILE lists them all)" : "")) }
            }
            return flaggedIdx.count
        }
        if flagged > 0 { throw ExitCode(ExitStatus.flagged) }
    }

    /// DIR's images: both splits of a train/test dataset, else the folder as it is.
    func loadImages() throws -> Dataset {
        let hasSplits = FileIO.isDirectory(joinPath(dir, "train"))
        let d = try loadData(dir, needTrain: true, needTest: hasSplits, skipBad: true)
        guard var ds = d.train else { throw RobustError.invalidArgument("\(dir): no images") }
        if let t = d.test, t.count > 0 {
            ds.pixels += t.pixels; ds.sources += t.sources
            ds.labels += t.labels.map { Int32(min(Int($0), max(ds.classNames.count - 1, 0))) }
        }
        return ds
    }
}

/// --calibration, else $ROBUST_QUALITY, else models/cifar10-quality.json beside the default model.
func resolveCalibrationPath(_ flag: String?) throws -> String {
    if let f = flag { return f }
    if let e = getenv("ROBUST_QUALITY") { return String(cString: e) }
    if let model = try? resolveModelPath(nil), let slash = model.lastIndex(of: "/") {
        let p = String(model[..<slash]) + "/cifar10-quality.json"
        if FileIO.exists(p) { return p }
    }
    throw RobustError.invalidArgument("no quality calibration: pass --calibration FILE, set ROBUST_QUALITY, or make one with --calibrate FILE on clean images")
}
