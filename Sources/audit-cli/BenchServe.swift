import RobustCore

/// `bench --serve`: measurements on request, for bench/compare.py's paired rounds.
///
/// This VM's speed drifts by up to 2x over tens of seconds. With one process per round, robust's
/// training and PyTorch's were measured 10-20 s apart, and a slow phase that hit only one of
/// them decided a width's verdict (width-16 training 1.36x in one run, 1.61x in the next, on
/// engines whose in-process A/B had not changed). A long-lived process answers one request at
/// a time, so the script can measure robust and the other engine back to back, a second or
/// two apart, many times, and take the median of the paired ratios.
///
/// Protocol (one line each way): `train|infer|latency WIDTH SECONDS` on stdin, answered by one
/// JSON line on stdout with the median seconds per call over at least SECONDS and 3 calls
/// (after one warm-up call); `quit` or end of input ends the process. Each width's model is
/// made on first use and kept, and its training goes on from request to request, as in a
/// real run (the same for PyTorch's side).
final class BenchServer {
    private var models: [Int: BenchModel] = [:]
    let trainBatch: Int, inferBatch: Int

    init(trainBatch: Int, inferBatch: Int) {
        self.trainBatch = trainBatch
        self.inferBatch = inferBatch
    }

    private func model(width: Int) -> BenchModel {
        if let m = models[width] { return m }
        let m = BenchModel(width: width, trainBatch: trainBatch, inferBatch: inferBatch)
        models[width] = m
        return m
    }

    /// The answer to one request line, or nil for `quit`.
    func answer(_ line: String) -> String? {
        let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
        if parts == ["quit"] { return nil }
        func error(_ message: String) -> String {
            JSON.object([("error", .string(message)), ("request", .string(line))]).serialized
        }
        guard parts.count == 3, let width = Int(parts[1]), (1...256).contains(width),
              let seconds = Double(parts[2]), seconds > 0, seconds <= 600 else {
            return error("expected `train|infer|latency WIDTH SECONDS` (width 1...256, seconds in (0, 600])")
        }
        let (call, images): (() -> Void, Int)
        switch parts[0] {
        case "train": (call, images) = (model(width: width).trainStep, trainBatch)
        case "infer": (call, images) = (model(width: width).infer, inferBatch)
        case "latency": (call, images) = (model(width: width).single, 1)
        default:
            return error("unknown measurement '\(parts[0])' (train, infer or latency)")
        }
        let perCall = BenchResult.medianSeconds(seconds, call)
        return JSON.object([("engine", .string("robust")), ("mode", .string(parts[0])), ("width", .int(Int64(width))),
                            ("seconds_per_call", .double(perCall)), ("images_per_s", .double(Double(images) / perCall)),
                            ("threads", .int(Int64(Threads.count)))]).serialized
    }

    /// Answers stdin's requests until `quit` or end of input.
    func run() {
        print(JSON.object([("ready", .bool(true)), ("threads", .int(Int64(Threads.count)))]).serialized)
        fflushStdout()
        while let line = readLine() {
            if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
            guard let reply = answer(line) else { break }
            print(reply)
            fflushStdout()
        }
    }
}
