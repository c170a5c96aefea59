import ArgumentParser
import RobustCore

/// Throughput of the engine on synthetic inputs: training images/s (batch 128, one full
/// optimizer step each), inference images/s (batch 256, eval mode) and single-image latency.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure training and inference speed at several widths.")

    @Option(parsing: .upToNextOption, help: "Widths to measure.") var widths: [Int] = [64, 32, 16]
    @Option(help: "Seconds to measure each figure (after warm-up).") var seconds: Double = 8
    @Option(help: "Training batch size.") var trainBatch = 128
    @Option(help: "Inference batch size.") var inferBatch = 256
    @Flag(help: "Print JSON lines instead of a table.") var json = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func run() throws {
        if let t = threads { Threads.set(t) }
        if !json { print("width  train img/s  infer img/s  latency ms  (threads \(Threads.count))") }
        for w in widths {
            let r = BenchResult.measure(width: w, trainBatch: trainBatch, inferBatch: inferBatch, seconds: seconds)
            if json {
                print(JSON.object([("engine", .string("robust")), ("width", .int(Int64(w))),
                                   ("train_images_per_s", .double(r.train)), ("infer_images_per_s", .double(r.infer)),
                                   ("latency_ms", .double(r.latencyMs)), ("threads", .int(Int64(Threads.count)))]).serialized)
            } else {
                print("\(padLeft(String(w), 5))  \(padLeft(fmt(r.train, 1), 11))  \(padLeft(fmt(r.infer, 1), 11))  \(padLeft(fmt(r.latencyMs, 2), 10))")
            }
            fflushStdout()
        }
    }
}

struct BenchResult {
    var train: Double, infer: Double, latencyMs: Double

    static func measure(width: Int, trainBatch: Int, inferBatch: Int, seconds: Double) -> BenchResult {
        var ds = Dataset(height: 32, width: 32, classNames: cifar10ClassNames)
        let n = max(trainBatch, inferBatch)
        var rng = RNG(seed: 1)
        ds.pixels = (0..<(n * 3072)).map { _ in UInt8(rng.int(256)) }
        ds.labels = (0..<n).map { Int32($0 % 10) }
        var cfg = TrainConfig()
        cfg.width = width
        cfg.epochs = 1000
        let trainer = Trainer(config: cfg, train: ds, test: nil)
        // Timed loops run whole steps until `seconds` pass, after one warm-up step.
        func time(_ body: () -> Void) -> (Int, Double) {
            body()
            let t0 = monotonicSeconds()
            var k = 0
            while true {
                body(); k += 1
                let dt = monotonicSeconds() - t0
                if dt >= seconds || k >= 10_000 { return (k, dt) }
            }
        }
        let idx = Array(0..<trainBatch)
        let (ks, ts) = time { trainer.trainStep(indices: idx[...], augmentTag: 0) }
        let batcher = Batcher(normalization: .cifar10)
        let input = Tensor([0])
        var labels: [Int32] = []
        let all = Array(0..<inferBatch)
        batcher.fill(input, labels: &labels, from: ds, indices: all[...], augment: nil)
        let (ki, ti) = time { trainer.model.forward(input, mode: .eval) }
        let one = Tensor([0])
        batcher.fill(one, labels: &labels, from: ds, indices: all[0..<1], augment: nil)
        let (kl, tl) = time { trainer.model.forward(one, mode: .eval) }
        return BenchResult(train: Double(ks * trainBatch) / ts, infer: Double(ki * inferBatch) / ti,
                           latencyMs: 1000 * tl / Double(kl))
    }
}
