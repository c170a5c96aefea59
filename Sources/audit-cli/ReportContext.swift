// What `report` gathers, stage by stage, and the files behind each table. The page itself is
// put together in ReportPage.swift; the check against planted problems in ReportTruth.swift.
import RobustCore

struct ReportContext {
    let dataPath: String
    let out: String
    let show: Int
    var train: Dataset
    var test: Dataset?
    var noise: NoisyLabels?
    var modelSource = ""
    var normalization = Normalization.cifar10
    var seconds = 0.0

    // Label audit.
    var issues: LabelIssues?
    var trainProbabilities: [Float] = []
    /// What the label decision was made on, for the page.
    var labelSource = ""
    var testProbabilities: [Float]?
    var testAccuracy: Double?
    var epochs: [(epoch: Int, loss: Double, trainAccuracy: Double, testAccuracy: Double?, seconds: Double)] = []
    var noiseEpochs: [NoiseEpochReport] = []

    // Image quality, on train then test images (one index space).
    var qualityData: Dataset?
    var quality: QualityReport?
    var calibration: QualityCalibration?

    // Robustness.
    var robustness: [RobustnessRow] = []

    // Metadata: the claims (by the quality index space), the image-versus-claim verdicts,
    // the conflicts ranked, and the fusion shortcut test.
    var metadataPath: String?
    var claims: [Int32] = []
    var verdicts: [Verdict?] = []
    var metaConflicts: [Int] = []
    var unmatchedMetadata = 0
    var fusion: [(recipe: String, report: ModalityReport)] = []

    // Truth check.
    var truth: [TruthRow] = []

    init(dataPath: String, out: String, show: Int, train: Dataset, test: Dataset?) {
        self.dataPath = dataPath; self.out = out; self.show = show; self.train = train; self.test = test
    }

    var k: Int { train.classNames.count }
    var allCount: Int { train.count + (test?.count ?? 0) }

    /// The path of image `i` (train first, then test) relative to the data folder.
    func path(_ i: Int) -> String {
        let src = i < train.count ? (i < train.sources.count ? train.sources[i] : "train#\(i)")
            : (test.map { t in i - train.count < t.sources.count ? t.sources[i - train.count] : "test#\(i - train.count)" } ?? "#\(i)")
        return relativePath(src)
    }

    func relativePath(_ src: String) -> String {
        let root = dataPath.hasSuffix("/") ? dataPath : dataPath + "/"
        return src.hasPrefix(root) ? String(src.dropFirst(root.count)) : src
    }

    /// Image `i` (train first, then test) as 8-bit RGB.
    func image(_ i: Int) -> RGBImage {
        let ds = i < train.count ? train : test!
        let j = i < train.count ? i : i - train.count
        return RGBImage(width: ds.width, height: ds.height, pixels: Array(ds.pixels[(j * ds.imageBytes)..<((j + 1) * ds.imageBytes)]))
    }

    func probabilities(_ i: Int) -> ArraySlice<Float>? {
        if i < train.count { return trainProbabilities.isEmpty ? nil : trainProbabilities[(i * k)..<((i + 1) * k)] }
        guard let p = testProbabilities else { return nil }
        let j = i - train.count
        return p[(j * k)..<((j + 1) * k)]
    }

    // MARK: - Labels

    func writeLabelFiles() throws {
        guard let issues else { return }
        try FileIO.writeAtomically(joinPath(out, "label-issues.csv"),
                                   text: labelIssuesCSV(issues, dataset: train, truth: noise?.truth, all: false))
        if !noiseEpochs.isEmpty {
            var csv = epochCSVHeader()
            for (r, e) in zip(noiseEpochs, epochs) { csv += epochCSVRow(r, seconds: e.seconds) }
            try FileIO.writeAtomically(joinPath(out, "label-epochs.csv"), text: csv)
        }
    }

    // MARK: - Quality

    mutating func runQuality(calibration given: QualityCalibration?) throws {
        var all = train
        if let t = test, t.count > 0 {
            all.pixels += t.pixels
            all.sources += t.sources
            all.labels += t.labels
        }
        let measures = QualityAudit.measure(all)
        guard given != nil || all.count >= 20 else {
            note("quality: \(all.count) images are too few for thresholds from the data (20 at least); pass --calibration FILE")
            return
        }
        let cal = try given ?? QualityCalibration.fromData(measures, source: "\(dataPath) (\(all.count) images)")
        var flags = measures.map { cal.flags($0) }
        let dup = QualityAudit.duplicates(all, measures, maxBits: cal.nearDuplicateBits,
                                          minCorrelation: cal.nearDuplicateCorrelation)
        for i in dup.indices { if let d = dup[i] { flags[i].insert(d.exact ? .duplicate : .nearDuplicate) } }
        let r = QualityReport(measures: measures, flags: flags, duplicateOf: dup)
        qualityData = all
        quality = r
        calibration = cal
        var csv = "path,split,flags,detail,sharpness,brightness,contrast,entropy,duplicate_of,hash_bits\n"
        for i in 0..<all.count where !r.flags[i].isEmpty {
            let q = r.measures[i], d = r.duplicateOf[i]
            csv += "\(csvField(path(i))),\(i < train.count ? "train" : "test"),\(r.flags[i].description),\(q.detail),\(q.sharpness),"
            csv += "\(q.brightness),\(q.contrast),\(q.entropy),\(d.map { csvField(path($0.index)) } ?? ""),\(d.map { String($0.bits) } ?? "")\n"
        }
        try FileIO.writeAtomically(joinPath(out, "quality.csv"), text: csv)
    }

    // MARK: - Robustness

    mutating func runRobustness(_ net: ResNet18, test: Dataset, images: Int,
                                progress: (Int, Int, String) -> Void) throws {
        let t = test.subset(Robustness.spreadSample(count: test.count, n: min(images, test.count)))
        var plan: [(String, Double, Corruption?)] = [("clean", 0, nil)]
        for i in 1...10 { plan.append(("noise", 0.02 * Double(i), .gaussianNoise(sigma: 0.02 * Double(i)))) }
        for i in 1...10 { plan.append(("blur", 0.25 * Double(i), .gaussianBlur(sigma: 0.25 * Double(i)))) }
        robustness = []
        for (j, (name, level, c)) in plan.enumerated() {
            let r = try Robustness.measure(net, normalization: normalization, data: t, corruption: c, name: name,
                                           family: c == nil ? "clean" : "study", level: level, seed: 0)
            robustness.append(r)
            if (j + 1) % 7 == 0 || j + 1 == plan.count {
                progress(j + 1, plan.count, "\(c?.description ?? "clean"): accuracy \(fmt(100 * r.accuracy, 2))%")
            }
        }
        var csv = "corruption,level,images,accuracy,mean_confidence,mean_entropy,most_predicted,most_predicted_share\n"
        for r in robustness {
            csv += "\(r.corruption),\(r.level),\(r.images),\(r.accuracy),\(r.meanConfidence),\(r.meanEntropy),\(csvField(r.mostPredicted)),\(r.mostPredictedShare)\n"
        }
        try FileIO.writeAtomically(joinPath(out, "robustness.csv"), text: csv)
    }

    // MARK: - Metadata

    mutating func runMetadata(_ csvPath: String, claims byPath: [String: Int32], unmatched: Int, encoder net: ResNet18,
                              fusionMode: FusionMode, trainConfig: TrainConfig, frozenEpochs: Int) throws {
        metadataPath = csvPath
        claims = (0..<allCount).map { byPath[path($0)] ?? FusionNet.missing }
        unmatchedMetadata = unmatched
        verdicts = (0..<allCount).map { i in
            guard claims[i] != FusionNet.missing, let p = probabilities(i) else { return nil }
            return Score(probabilities: Array(p), classNames: train.classNames, claimed: Int(claims[i])).verdict
        }
        // Most certain conflicts first: the least probability left on the claim.
        metaConflicts = (0..<allCount).filter { verdicts[$0] == .conflict }.sorted { claimProbability($0) < claimProbability($1) }
        var csv = "path,split,meta,predicted,confidence,meta_probability,verdict\n"
        for i in 0..<allCount where verdicts[i] != nil {
            let p = probabilities(i)!
            let best = argmax(p)
            csv += "\(csvField(path(i))),\(i < train.count ? "train" : "test"),\(csvField(train.classNames[Int(claims[i])])),"
            csv += "\(csvField(train.classNames[best])),\(p[p.startIndex + best]),\(p[p.startIndex + Int(claims[i])]),\(verdicts[i]!.name)\n"
        }
        try FileIO.writeAtomically(joinPath(out, "metadata-verdicts.csv"), text: csv)

        // The shortcut test: FusionNet trained on the training images and their claims, then
        // every test image paired with a contradicting claim (ModalityConflict). Recipes: the
        // study's (joint training from scratch), with metadata dropout 0.5 (its suggested
        // cure), and staged (the audited image encoder frozen, the rest trained on its features).
        guard let test, test.count > 0, fusionMode != .off else { return }
        let trainTags = Array(claims[0..<train.count])
        guard trainTags.contains(where: { $0 != FusionNet.missing }) else { return }
        var recipes: [(String, FusionConfig)] = []
        if fusionMode == .joint {
            for pm in [0.0, 0.5] {
                var c = FusionConfig()
                c.train = trainConfig
                c.train.width = net.width
                c.metaDropout = pm
                recipes.append((pm == 0 ? "joint (the study's)" : "joint, metadata dropout 0.5", c))
            }
        }
        var frozen = FusionConfig()
        frozen.train = trainConfig
        frozen.train.width = net.width; frozen.train.epochs = frozenEpochs; frozen.freezeImage = true
        recipes.append(("staged: image encoder frozen", frozen))
        let trainFeatures = FusionEvaluator.features(encoder: net, train, normalization: normalization)
        let testFeatures = FusionEvaluator.features(encoder: net, test, normalization: normalization)
        for (name, c) in recipes {
            let t0 = monotonicSeconds()
            let trainer = try FusionTrainer(config: c, train: train, imageEncoder: c.freezeImage ? net : nil,
                                            trainFeatures: c.freezeImage ? trainFeatures : nil, normalization: normalization, tags: trainTags)
            let line = ProgressLine()
            while !trainer.isFinished {
                trainer.runEpoch { done, total, loss in
                    line.update("  fusion \(name): epoch \(trainer.epoch + 1)/\(c.train.epochs) \(done)/\(total) loss \(fmt(loss, 4))")
                }
            }
            line.finish()
            let feats = c.freezeImage ? testFeatures : FusionEvaluator.features(trainer.model, test, normalization: normalization)
            let r = ModalityConflict.measure(trainer.model, features: feats, labels: test.labels, seed: 0)
            fusion.append((name, r))
            note("  fusion \(name): followed the metadata in \(fmt(100 * r.share(r.followedMetadata), 1))% of contradictions, the image in \(fmt(100 * r.share(r.followedImage), 1))% (\(formatDuration(monotonicSeconds() - t0)))")
        }
        var f = "recipe,images,consistent_accuracy,image_only_accuracy,metadata_only_accuracy,followed_metadata,followed_image,neither,metadata_reliance,image_reliance\n"
        for (name, r) in fusion {
            f += "\(csvField(name)),\(r.images),\(r.consistentAccuracy),\(r.imageOnlyAccuracy),\(r.metadataOnlyAccuracy),"
            f += "\(r.share(r.followedMetadata)),\(r.share(r.followedImage)),\(r.share(r.neither)),\(r.metadataReliance),\(r.imageReliance)\n"
        }
        try FileIO.writeAtomically(joinPath(out, "fusion.csv"), text: f)
    }

    /// The image model's probability of image i's claimed class (1 without a claim).
    func claimProbability(_ i: Int) -> Float {
        guard i < claims.count, claims[i] != FusionNet.missing, let p = probabilities(i) else { return 1 }
        return p[p.startIndex + Int(claims[i])]
    }

    /// path -> claimed class index, from a CSV with columns path (relative to the data folder)
    /// and meta (or claim: a class name; empty for no claim). Rows naming no image of the data
    /// are counted, not read (the data may be a subset, e.g. --classes); their class names are
    /// not checked. Reading no row at all is an error: the paths are likely wrong.
    func readMetadata(_ csvPath: String) throws -> (claims: [String: Int32], unmatched: Int) {
        let (header, rows) = try readCSV(csvPath)
        guard !header.isEmpty else { throw RobustError.format(path: csvPath, reason: "empty metadata file") }
        guard let pc = header.firstIndex(of: "path"), let mc = header.firstIndex(of: "meta") ?? header.firstIndex(of: "claim") else {
            throw RobustError.format(path: csvPath, reason: "needs a header with 'path' and 'meta' (or 'claim') columns")
        }
        let known = indexByPath
        var out: [String: Int32] = [:], unmatched = 0, example = ""
        for (n, f) in rows {
            guard f.count > max(pc, mc) else { throw RobustError.format(path: csvPath, reason: "line \(n) has \(f.count) fields") }
            let p = f[pc].hasPrefix("./") ? String(f[pc].dropFirst(2)) : f[pc]
            guard known[p] != nil else {
                unmatched += 1
                if example.isEmpty { example = p }
                continue
            }
            if f[mc].isEmpty { continue }   // no claim for this image
            guard let c = train.classNames.firstIndex(of: f[mc]) else {
                throw RobustError.format(path: csvPath, reason: "line \(n): class '\(f[mc])' is not one of \(train.classNames.joined(separator: ", "))")
            }
            out[p] = Int32(c)
        }
        if out.isEmpty && unmatched > 0 {
            throw RobustError.format(path: csvPath, reason: "none of its \(unmatched) paths names an image of \(dataPath) (paths are relative to it, like \(path(0)); the first row has \(example))")
        }
        if unmatched > 0 { note("\(csvPath): \(unmatched) rows name no image of the loaded data (e.g. \(example)); they are left out") }
        return (out, unmatched)
    }
}
