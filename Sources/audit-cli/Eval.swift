import ArgumentParser
import RobustCore

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a model: accuracy, per-class accuracy, confusion matrix.")

    @Option(help: "Model file (safetensors, ours or a PyTorch state_dict).") var model: String
    @Option(help: "Data folder (its test/ split when it has one; default: $ROBUST_DATA).") var data: String?
    @Option(help: "Batch size.") var batchSize = 256
    @Flag(help: "Print JSON instead of tables.") var json = false
    @Option(help: "Write every image's prediction and class probabilities to this CSV.") var predictions: String?
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(help: "Test-time augmentation: average each image's prediction with its mirror image's (2x the compute).")
    var flipTta = false
    @Option(help: "Test-time views to average: 1, 2 (as --flip-tta), 4 or 6 (and both shifted by (2,2), then (-2,-2) pixels); each view is one more pass.")
    var views: Int?

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        try TestTimeViewsOption.validate(views, flipTta: flipTta)
    }

    func run() throws {
        if let t = threads { Threads.set(t) }
        try reportingErrors {
            let (_, net, info, _, test) = try loadModelAndTestSet(model: model, data: data)
            let t0 = monotonicSeconds()
            let p = predictShowingProgress("evaluating", net, test, normalization: info.normalization, batchSize: batchSize,
                                           views: TestTimeViewsOption.resolve(views, flipTta: flipTta))
            let secs = monotonicSeconds() - t0
            if let path = predictions {
                var csv = "source,label,predicted," + info.classNames.map { "p_" + $0 }.joined(separator: ",") + "\n"
                let k = info.classNames.count
                for i in 0..<test.count {
                    let probs = (0..<k).map { String(p.probabilities[i * k + $0]) }.joined(separator: ",")
                    csv += "\(csvField(test.sources[i])),\(test.labels[i]),\(p.predicted[i]),\(probs)\n"
                }
                try FileIO.writeAtomically(path, text: csv)
                note("wrote \(path)")
            }
            let conf = p.confusion
            let perClass = conf.enumerated().map { i, row in Double(row[i]) / Double(max(row.reduce(0, +), 1)) }
            if json {
                let j = JSON.object([
                    ("model", .string(model)), ("images", .int(Int64(test.count))), ("accuracy", .double(p.accuracy)),
                    ("classes", .array(info.classNames.map { .string($0) })),
                    ("per_class_accuracy", .array(perClass.map { .double($0) })),
                    ("confusion", .array(conf.map { .array($0.map { .int(Int64($0)) }) })),
                    ("seconds", .double(secs))])
                print(j.serialized)
                return
            }
            print("accuracy \(fmt(100 * p.accuracy, 2))% on \(test.count) images (\(Int(Double(test.count) / secs)) img/s)")
            print("")
            print(padRight("class", 12) + "  accuracy")
            for (i, n) in info.classNames.enumerated() { print(padRight(n, 12) + "  " + padLeft(fmt(100 * perClass[i], 1) + "%", 8)) }
            print("")
            print("confusion matrix (rows: true class, columns: predicted)")
            print(padRight("", 12) + info.classNames.indices.map { padLeft(String($0), 6) }.joined())
            for (i, row) in conf.enumerated() {
                print(padRight("\(i) " + info.classNames[i], 12) + row.map { padLeft(String($0), 6) }.joined())
            }
        }
    }
}
