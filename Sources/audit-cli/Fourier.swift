// audit-cli fourier: the Fourier-basis sensitivity map of a model (Yin et al. 2019).
import ArgumentParser
import RobustCore

struct FourierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fourier",
        abstract: "Error rate under a Fourier basis perturbation of fixed norm, for every frequency: a heat map.",
        discussion: """
        For each frequency (u, v), every test image gets eps * r * U(u, v) added to each channel
        (U: the real Fourier basis image of unit L2 norm, r = +-1 at random per image and
        channel), clipped to [0, 1]. Low frequencies sit in the middle of the map. At eps 4 on a
        32 x 32 image the pattern's amplitude is about 0.18 of the pixel range.
        """)

    @Option(help: "Model file (default: $ROBUST_MODEL or models/cifar10-resnet18-w16.safetensors).") var model: String?
    @Option(help: "Data folder (its test/ split when it has one; default: $ROBUST_DATA).") var data: String?
    @Option(help: "L2 norm of the added pattern per channel, on [0,1] pixels.") var eps: Double = 4
    @Option(help: "Test images to use, spread evenly over the set.") var limit = 1000
    @Option(help: "Seed of the random signs.") var seed: UInt64 = 0
    @Option(help: "Folder for fourier.csv, fourier.json and fourier.svg.") var out: String?
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func validate() throws {
        if !(eps > 0 && eps <= 1000) { throw ValidationError("--eps must be in (0, 1000]") }
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        if let t = threads { Threads.set(t) }
        try reportingErrors {
            // The same class-count check as eval and robustness: a mismatched model would trap.
            var (modelPath, net, info, dir, test) = try loadModelAndTestSet(model: model, data: data)
            test = test.subset(Robustness.spreadSample(count: test.count, n: limit))
            let h = test.height, w = test.width
            let freqs = FourierSensitivity.frequencies(height: h, width: w)
            let cleanError = 1 - Evaluator.predict(net, test, normalization: info.normalization).accuracy
            note("fourier: \(freqs.count) frequencies x \(test.count) images, eps \(eps); clean error \(fmt(100 * cleanError, 2))%")
            var error = [[Double]](repeating: [Double](repeating: .nan, count: w), count: h)
            let t0 = monotonicSeconds()
            let line = ProgressLine()
            func put(_ u: Int, _ v: Int, _ e: Double) { error[((u % h) + h + h / 2) % h][((v % w) + w + w / 2) % w] = e }
            for (k, (u, v)) in freqs.enumerated() {
                let p = FourierSensitivity.perturbed(test, u: u, v: v, eps: eps, seed: seed)
                let e = 1 - Evaluator.predict(net, p, normalization: info.normalization).accuracy
                put(u, v, e); put(-u, -v, e)
                let done = monotonicSeconds() - t0
                line.update("[\(k + 1)/\(freqs.count)] (\(u), \(v)): error \(fmt(100 * e, 1))%, "
                            + "ETA \(formatDuration(done / Double(k + 1) * Double(freqs.count - k - 1)))")
            }
            line.finish()
            // Bands by the larger of |u| and |v|.
            var bands = [(String, ClosedRange<Int>)]()
            bands = [("low (max |u|,|v| <= 4)", 0...4), ("middle (5-11)", 5...11), ("high (>= 12)", 12...(max(h, w)))]
            func freq(_ i: Int, _ n: Int) -> Int { i - n / 2 }
            print("clean error \(fmt(100 * cleanError, 2))% on \(test.count) images; Fourier perturbation eps \(eps):")
            var bandMeans: [(String, JSON)] = []
            for (name, r) in bands {
                var s = 0.0, c = 0
                for i in 0..<h { for j in 0..<w where r.contains(max(abs(freq(i, h)), abs(freq(j, w)))) { s += error[i][j]; c += 1 } }
                print("  " + padRight(name, 26) + "mean error " + fmt(100 * s / Double(max(c, 1)), 2) + "%")
                bandMeans.append((name, .double(s / Double(max(c, 1)))))
            }
            var cells: [(Int, Int, Double)] = []
            for i in 0..<h { for j in 0..<w { cells.append((freq(i, h), freq(j, w), error[i][j])) } }
            let worst = cells.sorted { $0.2 > $1.2 }.prefix(5)
            print("  most damaging: " + worst.map { "(\($0.0), \($0.1)) \(fmt(100 * $0.2, 1))%" }.joined(separator: ", "))
            print("wall time \(formatDuration(monotonicSeconds() - t0))")
            if let out {
                try FileIO.makeDirectory(out)
                var csv = "u,v,error\n"
                for (u, v, e) in cells { csv += "\(u),\(v),\(e)\n" }
                try FileIO.writeAtomically(joinPath(out, "fourier.csv"), text: csv)
                let j = JSON.object([("model", .string(modelPath)), ("data", .string(dir)), ("images", .int(Int64(test.count))),
                                     ("eps", .double(eps)), ("seed", .int(Int64(bitPattern: seed))), ("clean_error", .double(cleanError)),
                                     ("band_mean_error", .object(bandMeans)),
                                     ("error", .array(error.map { .array($0.map { .double($0) }) }))])
                try FileIO.writeAtomically(joinPath(out, "fourier.json"), text: j.serialized + "\n")
                let svg = SVGChart.grid(title: "Error under Fourier basis noise (eps \(fmt(eps, 1)); clean \(fmt(100 * cleanError, 1))%)",
                                        values: error, rowLabels: (0..<h).map { String(freq($0, h)) },
                                        columnLabels: (0..<w).map { String(freq($0, w)) },
                                        xLabel: "horizontal frequency v (cycles per image)", yLabel: "vertical frequency u",
                                        range: 0...1, legend: "error rate")
                try FileIO.writeAtomically(joinPath(out, "fourier.svg"), text: svg)
                note("wrote \(out)/fourier.csv, fourier.json, fourier.svg")
            }
        }
    }
}
