// audit-cli robustness: how a trained model's accuracy decays under corruption, on its
// test set: the study's two sweeps (Gaussian noise and Gaussian blur by sigma) and the
// CIFAR-10-C suite at severities 1-5. Tables on stdout, CSV/JSON and SVG charts in --out.
import ArgumentParser
import RobustCore

struct RobustnessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "robustness",
        abstract: "Accuracy, confidence and entropy under corruption: the study's noise and blur sweeps and the CIFAR-10-C suite.",
        discussion: """
        Corruptions are applied in [0, 1] pixel space before normalization, clipped and rounded to
        8 bits, each image with its own seeded random stream (the same result on any thread count).
        Sweeps are START:END:STEP, both ends included; --noise and --blur default to the study's
        0:0.2:0.02 and 0:2.5:0.25 when no sweep or suite is named.
        """)

    @Option(help: "Model file (default: $ROBUST_MODEL or models/cifar10-resnet18-w16.safetensors).") var model: String?
    @Option(help: "Data folder (its test/ split when it has one; default: $ROBUST_DATA).") var data: String?
    @Option(help: "Gaussian noise sweep: sigma on [0,1] pixels, START:END:STEP.") var noise: String?
    @Option(help: "Gaussian blur sweep: sigma in pixels, START:END:STEP.") var blur: String?
    @Option(help: "Corruption suite: cifar10c (16 corruptions x 5 severities).") var suite: String?
    @Option(help: "Only these suite corruptions (comma-separated names, e.g. gaussian_noise,fog).") var only: String?
    @Option(help: "Use this many test images, spread evenly over the set (default: all).") var limit: Int?
    @Option(help: "Seed of the corruptions' random draws.") var seed: UInt64 = 0
    @Option(help: "Folder for robustness.csv, robustness.json and the charts.") var out: String?
    @Option(help: "Batch size.") var batchSize = 256
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        if let l = limit, l < 1 { throw ValidationError("--limit must be at least 1") }
        if let s = suite, s != "cifar10c" { throw ValidationError("--suite: unknown suite '\(s)' (known: cifar10c)") }
        if only != nil && suite == nil { throw ValidationError("--only picks corruptions of a suite: add --suite cifar10c") }
        _ = try suiteKinds()
        if let n = noise { _ = try parseSweep(n, flag: "--noise", max: 1) }
        if let b = blur { _ = try parseSweep(b, flag: "--blur", max: 50) }
    }

    func suiteKinds() throws -> [CorruptionKind] {
        guard let only else { return CorruptionKind.allCases }
        return try only.split(separator: ",").map { name in
            guard let k = CorruptionKind(rawValue: String(name)) else {
                throw ValidationError("--only: unknown corruption '\(name)' (known: \(CorruptionKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return k
        }
    }

    func run() throws {
        if let t = threads { Threads.set(t) }
        try reportingErrors {
            var (modelPath, net, info, dir, test) = try loadModelAndTestSet(model: model, data: data)
            if let l = limit { test = test.subset(Robustness.spreadSample(count: test.count, n: l)) }

            // The plan: (name, family, level, corruption), the clean pass first.
            var plan: [(String, String, Double, Corruption?)] = [("clean", "clean", 0, nil)]
            let defaults = noise == nil && blur == nil && suite == nil
            if let sweep = noise ?? (defaults ? "0:0.2:0.02" : nil) {
                for s in try parseSweep(sweep, flag: "--noise", max: 1) where s > 0 { plan.append(("noise", "study", s, .gaussianNoise(sigma: s))) }
            }
            if let sweep = blur ?? (defaults ? "0:2.5:0.25" : nil) {
                for s in try parseSweep(sweep, flag: "--blur", max: 50) where s > 0 { plan.append(("blur", "study", s, .gaussianBlur(sigma: s))) }
            }
            if suite != nil {
                for (k, s, c) in Corruption.cifar10CSuite(kinds: try suiteKinds()) { plan.append((k.rawValue, k.family, Double(s), c)) }
            }
            note("robustness: \(modelPath) on \(test.count) images of \(dir), \(plan.count) evaluations")

            var rows: [RobustnessRow] = []
            let t0 = monotonicSeconds()
            let line = ProgressLine()
            for (i, (name, family, level, c)) in plan.enumerated() {
                let r = try Robustness.measure(net, normalization: info.normalization, data: test, corruption: c, name: name,
                                               family: family, level: level, seed: seed, batchSize: batchSize)
                rows.append(r)
                let done = monotonicSeconds() - t0
                let eta = done / Double(i + 1) * Double(plan.count - i - 1)
                line.update("[\(i + 1)/\(plan.count)] \(c?.description ?? "clean"): accuracy \(fmt(100 * r.accuracy, 2))%, "
                            + "\(Int(Double(r.images) / max(r.seconds, 1e-9))) img/s, ETA \(formatDuration(eta))", force: true)
            }
            line.finish()
            let total = monotonicSeconds() - t0
            report(rows, seconds: total)
            if let out { try write(rows, to: out, modelPath: modelPath, dataPath: dir, seconds: total) }
        }
    }

    /// Values START, START+STEP, ... END (inclusive, to rounding).
    func parseSweep(_ s: String, flag: String, max upper: Double) throws -> [Double] {
        let p = s.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
        guard p.count == 3, let a = p[0], let b = p[1], let st = p[2], st > 0, a >= 0, b >= a, b <= upper else {
            throw ValidationError("\(flag) '\(s)': expected START:END:STEP with 0 <= START <= END <= \(upper) and STEP > 0")
        }
        let n = Int(((b - a) / st + 1e-9).rounded(.down))
        guard n <= 1000 else { throw ValidationError("\(flag) '\(s)': more than 1000 levels") }
        return (0...n).map { a + Double($0) * st }
    }

    func report(_ rows: [RobustnessRow], seconds: Double) {
        print(padRight("corruption", 18) + padLeft("level", 7) + padLeft("accuracy", 10) + padLeft("confidence", 12) + padLeft("entropy", 9)
              + "  most predicted")
        for r in rows {
            let level = r.family == "study" ? fmt(r.level, 2) : r.family == "clean" ? "-" : String(Int(r.level))
            print(padRight(r.corruption, 18) + padLeft(level, 7) + padLeft(fmt(100 * r.accuracy, 2) + "%", 10)
                  + padLeft(fmt(r.meanConfidence, 3), 12) + padLeft(fmt(r.meanEntropy, 3), 9)
                  + "  \(r.mostPredicted) \(fmt(100 * r.mostPredictedShare, 1))%")
        }
        let suiteRows = rows.filter { $0.family != "study" && $0.family != "clean" }
        if !suiteRows.isEmpty {
            let means = Robustness.meanAccuracy(byCorruption: suiteRows)
            print("")
            print(padRight("suite corruption", 18) + padLeft("mean accuracy (severities 1-5)", 32))
            for (name, acc) in means { print(padRight(name, 18) + padLeft(fmt(100 * acc, 2) + "%", 32)) }
            let mca = means.map(\.1).reduce(0, +) / Double(means.count)
            print("mean corruption accuracy: \(fmt(100 * mca, 2))% over \(means.count) corruptions (clean: \(fmt(100 * rows[0].accuracy, 2))%)")
        }
        print("wall time \(formatDuration(seconds))")
    }

    func write(_ rows: [RobustnessRow], to dir: String, modelPath: String, dataPath: String, seconds: Double) throws {
        try FileIO.makeDirectory(dir)
        var csv = "corruption,family,level,images,accuracy,mean_confidence,mean_entropy,most_predicted,most_predicted_share,seconds\n"
        for r in rows {
            csv += "\(r.corruption),\(r.family),\(r.level),\(r.images),\(r.accuracy),\(r.meanConfidence),\(r.meanEntropy),"
            csv += "\(csvField(r.mostPredicted)),\(r.mostPredictedShare),\(fmt(r.seconds, 2))\n"
        }
        try FileIO.writeAtomically(joinPath(dir, "robustness.csv"), text: csv)

        let suiteRows = rows.filter { $0.family != "study" && $0.family != "clean" }
        let means = Robustness.meanAccuracy(byCorruption: suiteRows)
        var fields: [(String, JSON)] = [
            ("model", .string(modelPath)), ("data", .string(dataPath)), ("images", .int(Int64(rows[0].images))),
            ("seed", .int(Int64(bitPattern: seed))), ("clean_accuracy", .double(rows[0].accuracy)),
            ("rows", .array(rows.map { r in .object([
                ("corruption", .string(r.corruption)), ("family", .string(r.family)), ("level", .double(r.level)),
                ("accuracy", .double(r.accuracy)), ("mean_confidence", .double(r.meanConfidence)),
                ("mean_entropy", .double(r.meanEntropy)), ("most_predicted", .string(r.mostPredicted)),
                ("most_predicted_share", .double(r.mostPredictedShare))]) })),
            ("seconds", .double(seconds))]
        if !means.isEmpty {
            fields.append(("suite_mean_accuracy", .object(means.map { ($0.0, .double($0.1)) })))
            fields.append(("mean_corruption_accuracy", .double(means.map(\.1).reduce(0, +) / Double(means.count))))
        }
        try FileIO.writeAtomically(joinPath(dir, "robustness.json"), text: JSON.object(fields).serialized + "\n")

        // Charts: the study's decay curves, and the suite as a corruption x severity heat map.
        let clean = rows[0].accuracy
        for (name, xLabel, file) in [("noise", "Gaussian noise sigma (on [0,1] pixels)", "decay-noise.svg"),
                                     ("blur", "Gaussian blur sigma (pixels)", "decay-blur.svg")] {
            let pts = [(0.0, clean)] + rows.filter { $0.corruption == name && $0.family == "study" }.map { ($0.level, $0.accuracy) }
            guard pts.count > 1 else { continue }
            let conf = [(0.0, rows[0].meanConfidence)] + rows.filter { $0.corruption == name && $0.family == "study" }.map { ($0.level, $0.meanConfidence) }
            let svg = SVGChart.lines(title: "Accuracy under \(name == "noise" ? "Gaussian noise" : "Gaussian blur")",
                                     xLabel: xLabel, yLabel: "share of test images",
                                     series: [("accuracy", pts), ("mean confidence", conf)], yRange: 0...1)
            try FileIO.writeAtomically(joinPath(dir, file), text: svg)
        }
        if !means.isEmpty {
            let names = means.map(\.0)
            let values = names.map { n in (1...5).map { s in suiteRows.first { $0.corruption == n && Int($0.level) == s }?.accuracy ?? .nan } }
            let svg = SVGChart.heatmap(title: "Accuracy (%) under CIFAR-10-C corruptions (clean \(fmt(100 * clean, 1))%)",
                                       rows: names, columns: ["1", "2", "3", "4", "5"], values: values, columnLabel: "severity")
            try FileIO.writeAtomically(joinPath(dir, "suite-heatmap.svg"), text: svg)
        }
        note("wrote \(dir)/robustness.csv, robustness.json and the charts (*.svg)")
    }
}
