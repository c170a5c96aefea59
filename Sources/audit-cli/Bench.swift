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
    @Flag(help: "Also print where a training step's time goes, per kernel kind.") var profile = false
    @Option(help: "Write cost curves (images/s against batch size, per width and mode) to this CSV instead.") var curves: String?
    @Option(help: "Peak GFLOP/s for the profile's percent-of-peak column (default: measured, an sgemm on every worker).")
    var peakGflops: Double?
    @Flag(help: "Only train (a few steps at the first width) and print the process's peak memory: run one process per width.")
    var memory = false
    @Option(help: ArgumentHelp("Only single-image latency (training steps for winograd-grad-tiles and filter-kernels, inference batches for fused-epilogue), with this engine switch off and on alternately, call by call, for --seconds per width: the median of the paired ratios.",
                               valueName: EngineSwitch.allCases.map(\.rawValue).joined(separator: "|")))
    var ab: String?
    @Option(help: "What --ab times: latency, training or inference (default: the switch's own).")
    var abMeasure: String?
    @Option(help: "Only single-image latency: trace this many forward passes on the worker pool and print where each thread's time goes.")
    var timeline: Int?
    @Flag(help: "Answer measurement requests (`train|infer|latency WIDTH SECONDS`, one per stdin line) with JSON lines, for bench/compare.py's paired rounds.")
    var serve = false

    func validate() throws {
        if widths.isEmpty || widths.contains(where: { $0 < 1 || $0 > 256 }) { throw ValidationError("--widths must be in 1...256") }
        if trainBatch < 1 || inferBatch < 1 { throw ValidationError("batch sizes must be at least 1") }
        if !(seconds > 0) { throw ValidationError("--seconds must be positive") }
        if let t = timeline, t < 1 || t > 100_000 { throw ValidationError("--timeline must be in 1...100000") }
        if let m = abMeasure, EngineSwitch.Measure(rawValue: m) == nil {
            throw ValidationError("--ab-measure: '\(m)' is not one of latency, training, inference")
        }
        if let name = ab, EngineSwitch(rawValue: name) == nil {
            throw ValidationError("--ab: unknown switch '\(name)' (known: \(EngineSwitch.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    func run() throws {
        if let t = threads { Threads.set(t) }
        if let path = curves { try writeCurves(path); return }
        if serve { BenchServer(trainBatch: trainBatch, inferBatch: inferBatch).run(); return }
        if let name = ab, let sw = EngineSwitch(rawValue: name) {
            pairedLatency(sw)
            return
        }
        if let forwards = timeline {
            for w in widths { printTimeline(width: w, forwards: forwards) }
            return
        }
        if memory {
            let w = widths[0]
            let step = BenchResult.makeStep(width: w, batch: trainBatch, training: true)
            for _ in 0..<3 { step() }
            let rss = peakResidentBytes()
            if json {
                print(JSON.object([("engine", .string("robust")), ("width", .int(Int64(w))), ("train_batch", .int(Int64(trainBatch))),
                                   ("peak_rss_bytes", .int(Int64(rss)))]).serialized)
            } else {
                print("width \(w), training batch \(trainBatch): peak resident memory \(fmt(Double(rss) / 1e9, 3)) GB")
            }
            return
        }
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
            if profile { printProfile(width: w) }
        }
    }

    /// Batch-1 latency with `sw` off and on, alternated call by call (which goes first alternates
    /// too): the median and quartiles of on/off per pair, and each setting's median.
    func pairedLatency(_ sw: EngineSwitch) {
        let was = sw.isOn
        defer { sw.set(was) }
        let measure = abMeasure.flatMap(EngineSwitch.Measure.init(rawValue:)) ?? sw.measure
        let what = switch measure {
        case .training: "training step (batch \(trainBatch)) time on / off, paired step by step"
        case .inference: "inference pass (batch \(inferBatch)) time on / off, paired pass by pass"
        case .latency: "single-image latency on / off, paired call by call"
        }
        if !json { print("\(sw.rawValue): \(what) (threads \(Threads.count))") }
        if !json { print("width   pairs  on/off median  [IQR]          off ms   on ms") }
        for w in widths {
            let r = switch measure {
            case .training: BenchResult.pairedSteps(width: w, batch: trainBatch, training: true, seconds: seconds, sw)
            case .inference: BenchResult.pairedSteps(width: w, batch: inferBatch, training: false, seconds: seconds, sw)
            case .latency: BenchResult.pairedLatency(width: w, seconds: seconds, sw)
            }
            if json {
                print(JSON.object([("engine", .string("robust")), ("width", .int(Int64(w))), ("switch", .string(sw.rawValue)),
                                   ("pairs", .int(Int64(r.pairs))), ("on_over_off_median", .double(r.ratio[1])),
                                   ("on_over_off_q1", .double(r.ratio[0])), ("on_over_off_q3", .double(r.ratio[2])),
                                   ("off_ms", .double(r.offMs)), ("on_ms", .double(r.onMs)),
                                   ("threads", .int(Int64(Threads.count)))]).serialized)
            } else {
                print("\(padLeft(String(w), 5))  \(padLeft(String(r.pairs), 6))  \(padLeft(fmt(r.ratio[1], 3), 13))  [\(fmt(r.ratio[0], 3))-\(fmt(r.ratio[2], 3))]"
                      + "  \(padLeft(fmt(r.offMs, 3), 8))  \(padLeft(fmt(r.onMs, 3), 6))")
            }
            fflushStdout()
        }
    }

    /// Throughput against batch size: inference 1..512 and training 8..256 (128 at width >= 64).
    func writeCurves(_ path: String) throws {
        var csv = "width,mode,batch,images_per_s\n"
        for w in widths {
            for mode in ["inference", "training"] {
                let batches = mode == "inference" ? [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
                                                  : (w >= 64 ? [8, 16, 32, 64, 128] : [8, 16, 32, 64, 128, 256])
                for b in batches {
                    let ips = BenchResult.throughput(width: w, batch: b, training: mode == "training", seconds: seconds)
                    csv += "\(w),\(mode),\(b),\(fmt(ips, 2))\n"
                    note("width \(w) \(mode) batch \(b): \(fmt(ips, 1)) img/s")
                }
            }
        }
        try FileIO.writeAtomically(path, text: csv)
        print("wrote \(path)")
    }

    func printProfile(width: Int) {
        let peak = peakGflops ?? BenchResult.measuredPeakGflops()
        print("peak: \(fmt(peak, 1)) GFLOP/s (\(peakGflops == nil ? "measured: 512^3 sgemm on each of \(Threads.count) workers at once" : "given"))")
        for training in [true, false] {
            Profiler.reset()
            Profiler.enabled = true
            let batch = training ? trainBatch : inferBatch
            let (r, steps) = BenchResult.profile(width: width, batch: batch, training: training)
            Profiler.enabled = false
            let entries = Profiler.entries.sorted { $0.value.seconds > $1.value.seconds }
            let total = entries.reduce(0) { $0 + $1.value.seconds }
            print("profile, width \(width), \(training ? "training" : "inference") batch \(batch) (\(fmt(r, 1)) img/s while profiled):")
            print("  " + padRight("kernel", 30) + padLeft("ms/step", 9) + padLeft("share", 8) + padLeft("GFLOP/s", 9) + padLeft("% peak", 8))
            for (name, e) in entries {
                let gf = e.flops > 0 ? e.flops / e.seconds / 1e9 : 0
                print("  " + padRight(name, 30) + padLeft(fmt(1000 * e.seconds / Double(steps), batch == 1 ? 3 : 1), 9)
                      + padLeft(fmt(100 * e.seconds / total, 1) + "%", 8)
                      + padLeft(e.flops > 0 ? fmt(gf, 1) : "-", 9) + padLeft(e.flops > 0 ? fmt(100 * gf / peak, 0) + "%" : "-", 8))
            }
        }
        fflushStdout()
    }
}

struct BenchResult {
    var train: Double, infer: Double, latencyMs: Double

    /// What the GEMM library reaches on this machine with every worker busy: each worker runs
    /// single-threaded 512x512x512 sgemms (as the engine calls them) for ~0.3 s; best of 3.
    static func measuredPeakGflops() -> Double {
        let n = 512, T = Threads.count
        let a = Tensor([n, n]), b = Tensor([n, n])
        a.fill(0.5); b.fill(0.25)
        let cs = (0..<T).map { _ in Tensor([n, n]) }
        var best = 0.0
        for _ in 0..<3 {
            let reps = 8
            let t0 = monotonicSeconds()
            parallelFor(T) { t in
                for _ in 0..<reps {
                    BLAS.gemm(m: n, n: n, k: n, a: a.data, lda: n, b: b.data, ldb: n, c: cs[t].data, ldc: n)
                }
            }
            let secs = monotonicSeconds() - t0
            best = max(best, 2.0 * Double(n * n * n) * Double(reps * T) / secs / 1e9)
        }
        return best
    }

    static func syntheticData(count n: Int) -> Dataset {
        var ds = Dataset(height: 32, width: 32, classNames: cifar10ClassNames)
        var rng = RNG(seed: 1)
        ds.pixels = (0..<(n * 3072)).map { _ in UInt8(rng.int(256)) }
        ds.labels = (0..<n).map { Int32($0 % 10) }
        return ds
    }

    /// One training step (batch `batch`) or one eval-mode forward pass, on synthetic data,
    /// as a closure that can be timed.
    static func makeStep(width: Int, batch: Int, training: Bool) -> () -> Void {
        var cfg = TrainConfig()
        cfg.width = width
        let ds = syntheticData(count: batch)
        let trainer = Trainer(config: cfg, train: ds, test: nil)
        let idx = Array(0..<batch)
        let input = Tensor([0])
        var labels: [Int32] = []
        Batcher(normalization: .cifar10).fill(input, labels: &labels, from: ds, indices: idx[...], augment: nil)
        return training ? { trainer.trainStep(indices: idx[...], augmentTag: 0) }
                        : { trainer.model.forward(input, mode: .eval) }
    }

    /// Images/s at one batch size: the median step over `seconds` (at least 3 steps).
    static func throughput(width: Int, batch: Int, training: Bool, seconds: Double) -> Double {
        Double(batch) / medianSeconds(seconds, makeStep(width: width, batch: batch, training: training))
    }

    /// The median duration of `body` over at least `seconds` and 3 calls, after one warm-up call.
    static func medianSeconds(_ seconds: Double, _ body: () -> Void) -> Double {
        body()
        let t0 = monotonicSeconds()
        var times: [Double] = []
        while times.count < 10_000 {
            let t = monotonicSeconds()
            body()
            times.append(monotonicSeconds() - t)
            if monotonicSeconds() - t0 >= seconds && times.count >= 3 { break }
        }
        times.sort()
        return times[times.count / 2]
    }

    /// Images/s over the profiled steps (after one unprofiled warm-up step), and their count:
    /// at least 3 steps and half a second, so that a single image's sub-millisecond forward is
    /// profiled over hundreds of calls, not 3.
    static func profile(width: Int, batch: Int, training: Bool) -> (imagesPerSecond: Double, steps: Int) {
        let step = makeStep(width: width, batch: batch, training: training)
        let was = Profiler.enabled
        Profiler.enabled = false
        step()
        Profiler.enabled = was
        let t0 = monotonicSeconds()
        var steps = 0
        while steps < 3 || monotonicSeconds() - t0 < 0.5 {
            step()
            steps += 1
        }
        return (Double(steps * batch) / (monotonicSeconds() - t0), steps)
    }

    /// A fresh width-`width` model and one synthetic image, batched.
    static func singleImage(width: Int) -> (ResNet18, Tensor) {
        let ds = syntheticData(count: 1)
        var cfg = TrainConfig()
        cfg.width = width
        let model = Trainer(config: cfg, train: ds, test: nil).model
        let one = Tensor([0])
        var labels: [Int32] = []
        Batcher(normalization: .cifar10).fill(one, labels: &labels, from: ds, indices: [0][...], augment: nil)
        return (model, one)
    }

    /// Single-image forward passes of a width-`width` model for `seconds`, alternating `sw` off
    /// and on every call (the order flips each pair), after a warm-up call of each.
    static func pairedLatency(width: Int, seconds: Double, _ sw: EngineSwitch)
        -> (pairs: Int, ratio: [Double], offMs: Double, onMs: Double) {
        let (model, one) = singleImage(width: width)
        // Other switches are compared on all workers, not on whichever count the adaptive
        // choice would pick for each call.
        let adaptive = WorkerChoice.enabled
        defer { WorkerChoice.enabled = adaptive }
        if sw != .adaptiveWorkers { WorkerChoice.enabled = false }
        return alternated(seconds, sw) { model.forward(one, mode: .eval) }
    }

    /// `body` with `sw` off and on alternately for `seconds` (at least 3 pairs; the order flips
    /// each pair), after a warm-up call of each: the quartiles of the on/off ratios and the
    /// median times.
    static func alternated(_ seconds: Double, _ sw: EngineSwitch, _ body: () -> Void)
        -> (pairs: Int, ratio: [Double], offMs: Double, onMs: Double) {
        for on in [false, true] { sw.set(on); body() }
        var ratios: [Double] = [], off: [Double] = [], on: [Double] = []
        let t0 = monotonicSeconds()
        while monotonicSeconds() - t0 < seconds || ratios.count < 3 {
            var d = [0.0, 0.0]
            for k in 0..<2 {
                let setting = (k + ratios.count) % 2  // 0 off, 1 on
                sw.set(setting == 1)
                let t = monotonicSeconds()
                body()
                d[setting] = monotonicSeconds() - t
            }
            ratios.append(d[1] / d[0]); off.append(d[0]); on.append(d[1])
        }
        func quartiles(_ v: [Double]) -> [Double] { let s = v.sorted(); return [s[s.count / 4], s[s.count / 2], s[3 * s.count / 4]] }
        return (ratios.count, quartiles(ratios), 1000 * quartiles(off)[1], 1000 * quartiles(on)[1])
    }

    /// Training steps (or inference passes) of a width-`width` model at batch `batch` for
    /// `seconds`, alternating `sw` off and on every step (the order flips each pair), after a
    /// warm-up step of each: the same model trains on throughout, as in a real run.
    static func pairedSteps(width: Int, batch: Int, training: Bool, seconds: Double, _ sw: EngineSwitch)
        -> (pairs: Int, ratio: [Double], offMs: Double, onMs: Double) {
        let step = makeStep(width: width, batch: batch, training: training)
        return alternated(seconds, sw, step)
    }

    static func measure(width: Int, trainBatch: Int, inferBatch: Int, seconds: Double) -> BenchResult {
        let m = BenchModel(width: width, trainBatch: trainBatch, inferBatch: inferBatch)
        return BenchResult(train: Double(trainBatch) / medianSeconds(seconds, m.trainStep),
                           infer: Double(inferBatch) / medianSeconds(seconds, m.infer),
                           latencyMs: 1000 * medianSeconds(seconds, m.single))
    }
}

/// One width's model and synthetic inputs for timing (`bench` and `bench --serve`): training
/// steps go on from call to call, as in a real run.
struct BenchModel {
    let trainer: Trainer
    let trainIndices: [Int]
    let batch = Tensor([0]), one = Tensor([0])

    init(width: Int, trainBatch: Int, inferBatch: Int) {
        let ds = BenchResult.syntheticData(count: max(trainBatch, inferBatch))
        var cfg = TrainConfig()
        cfg.width = width
        cfg.epochs = 1000
        trainer = Trainer(config: cfg, train: ds, test: nil)
        trainIndices = Array(0..<trainBatch)
        let batcher = Batcher(normalization: .cifar10)
        var labels: [Int32] = []
        let all = Array(0..<inferBatch)
        batcher.fill(batch, labels: &labels, from: ds, indices: all[...], augment: nil)
        batcher.fill(one, labels: &labels, from: ds, indices: all[0..<1], augment: nil)
    }

    /// One SGD step on the training batch.
    func trainStep() { trainer.trainStep(indices: trainIndices[...], augmentTag: 0) }
    /// One eval-mode forward pass of the inference batch.
    func infer() { trainer.model.forward(batch, mode: .eval) }
    /// One eval-mode forward pass of a single image.
    func single() { trainer.model.forward(one, mode: .eval) }
}
