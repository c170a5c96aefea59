// The report page, section by section, plus summary.json and the stdout summary. Every
// table here has a CSV beside the page with the full rows; the page shows the top of each.
import RobustCore

extension ReportContext {
    func pct(_ v: Double, _ d: Int = 1) -> String { v.isNaN ? "-" : fmt(100 * v, d) + "%" }
    func esc(_ s: String) -> String { HTML.escape(s) }
    func name(_ c: Int32) -> String { c == FusionNet.missing ? "(none)" : train.classNames[Int(c)] }

    /// A thumbnail with lines of caption under it.
    func tile(_ i: Int, _ lines: [String]) -> String {
        "<div class='tile'>" + HTML.thumbnail(image(i), size: 64, title: path(i)) + "<br>" + lines.map(esc).joined(separator: "<br>") + "</div>"
    }

    func page() -> HTMLPage {
        var p = HTMLPage(title: "robust audit report",
                         subtitle: "\(dataPath): \(train.count) training and \(test?.count ?? 0) test images, \(k) classes; \(formatDuration(seconds)) on this machine")
        p.add(id: "summary", title: "Summary", body: summarySection())
        p.add(id: "labels", title: "Label audit", body: labelSection())
        p.add(id: "quality", title: "Image quality", body: qualitySection())
        p.add(id: "robustness", title: "Robustness", body: robustnessSection())
        p.add(id: "metadata", title: "Metadata conflicts", body: metadataSection())
        if !truth.isEmpty { p.add(id: "truth", title: "Checked against the planted problems", body: truthSection()) }
        p.add(id: "files", title: "Files", body: filesSection())
        return p
    }

    // MARK: Sections

    func summarySection() -> String {
        var cards: [(String, String)] = [("\(train.count) / \(test?.count ?? 0)", "training / test images"), ("\(k)", "classes")]
        if let a = testAccuracy { cards.append((pct(a), "test accuracy of the audited model")) }
        if let i = issues { cards.append(("\(i.flagged.count)", "suspected label errors (\(pct(Double(i.flagged.count) / Double(max(train.count, 1)))))")) }
        if let q = quality { cards.append(("\(q.flags.filter { !$0.isEmpty }.count)", "images with a quality flag")) }
        if robustness.count > 1 {
            let n = robustness.first { $0.corruption == "noise" && abs($0.level - 0.1) < 1e-9 }
            let b = robustness.first { $0.corruption == "blur" && abs($0.level - 1.5) < 1e-9 }
            if let n { cards.append((pct(n.accuracy), "accuracy under noise sigma 0.1")) }
            if let b { cards.append((pct(b.accuracy), "accuracy under blur sigma 1.5")) }
        }
        if metadataPath != nil { cards.append(("\(metaConflicts.count)", "images contradicting their metadata")) }
        var s = HTML.cards(cards)
        var rows: [[String]] = [["data", esc(dataPath)], ["model", esc(modelSource)]]
        if let n = noise { rows.append(["planted label noise", "\(n.mislabeledCount) of \(train.count) training labels changed (symmetric)"]) }
        if let m = metadataPath { rows.append(["metadata", esc(m)]) }
        rows.append(["wall time", formatDuration(seconds) + " (decode, training, every audit, this page)"])
        s += HTML.table([], rows)
        return s
    }

    func labelSection() -> String {
        guard let issues else { return "<p class='note'>No label audit.</p>" }
        var s = "<p>Confident learning (Northcutt et al. 2021) on \(esc(labelSource)): per class, "
        s += "the samples whose given label the model believes least are flagged, as many as the estimated number of wrong labels; no noise rate "
        s += "has to be known. Each flag comes with the class the model suggests instead. All flags, ranked: <code>label-issues.csv</code>.</p>\n"
        s += HTML.cards([("\(issues.flagged.count)", "flagged (\(pct(Double(issues.flagged.count) / Double(max(train.count, 1)))) of the training labels)"),
                         ("\(issues.estimatedPerClass.reduce(0, +))", "estimated wrong labels")])
        let rows = flagsPerClass(train, issues).enumerated().map { c, r -> [String] in
            [esc(train.classNames[c]), "\(r.images)", "\(r.flagged)", pct(Double(r.flagged) / Double(max(r.images, 1))),
             r.suggested.map { "\(esc(train.classNames[$0.0])) (\($0.1))" }.joined(separator: ", ")]
        }
        s += "<h3>Per class</h3>" + HTML.table(["given class", "images", "flagged", "share", "most suggested instead"], rows, numeric: [1, 2, 3])
        // The most suspicious samples.
        s += "<h3>Most suspicious labels (\(min(show, issues.flagged.count)) of \(issues.flagged.count))</h3><div class='grid' id='label-grid'>"
        for i in issues.flagged.prefix(show) {
            var lines = ["given: \(train.classNames[Int(train.labels[i])])", "suggested: \(train.classNames[Int(issues.suggested[i])])",
                         "score \(fmt(Double(issues.score[i]), 3))"]
            if let n = noise { lines.append(n.truth[i] != n.given[i] ? "truly \(train.classNames[Int(n.truth[i])])" : "label was right") }
            s += tile(i, lines)
        }
        s += "</div>\n"
        if !epochs.isEmpty {
            let acc = epochs.compactMap { e in e.testAccuracy.map { (Double(e.epoch), $0) } }
            let fit = epochs.map { (Double($0.epoch), $0.trainAccuracy) }
            var series: [(name: String, points: [(Double, Double)])] = [("train (given labels)", fit)]
            if !acc.isEmpty { series.append(("test accuracy", acc)) }
            s += HTML.inlineSVG(SVGChart.lines(title: "Training of the audited model", xLabel: "epoch", yLabel: "accuracy", series: series, yRange: 0...1))
        }
        if let n = noise, let last = noiseEpochs.last {
            s += labelTruthSection(n, last)
        }
        return s
    }

    /// With planted noise: the label-noise experiment's figures, per epoch and per score.
    func labelTruthSection(_ n: NoisyLabels, _ last: NoiseEpochReport) -> String {
        let set = SetQuality(flagged: issues!.flagged, positives: n.isMislabeled)
        var s = "<h3>Against the planted noise (\(n.mislabeledCount) wrong labels)</h3>"
        s += HTML.cards([(fmt(set.precision, 3), "precision of the flagged set"), (fmt(set.recall, 3), "recall"), (fmt(set.f1, 3), "F1"),
                         (fmt(last.score("self_confidence")?.auroc ?? .nan, 4), "AUROC of self-confidence"),
                         (fmt(last.score("entropy")?.auroc ?? .nan, 4), "AUROC of entropy (the study's score)")])
        let scoreRows = last.scores.map { q in [esc(q.name), fmt(q.auroc, 4), fmt(q.flaggedSet.precision, 3), fmt(q.flaggedSet.recall, 3), fmt(q.flaggedSet.f1, 3)] }
        s += HTML.table(["score", "AUROC", "precision", "recall", "F1"], scoreRows, numeric: [1, 2, 3, 4])
        let epochRows = noiseEpochs.map { r in
            [String(r.epoch), r.testAccuracy.map { pct($0, 2) } ?? "-", fmt(r.meanEntropyClean, 3), fmt(r.meanEntropyMislabeled, 3),
             pct(r.memorized), pct(r.recovered), fmt(r.score("entropy")?.auroc ?? .nan, 4), fmt(r.score("self_confidence")?.auroc ?? .nan, 4)]
        }
        s += "<h3>Per epoch (as <code>audit-cli label-noise</code> reports it; <code>label-epochs.csv</code>)</h3>"
        s += HTML.table(["epoch", "test accuracy", "entropy clean", "entropy mislabeled", "memorized", "recovered", "AUROC entropy", "AUROC self-confidence"],
                        epochRows, numeric: Set(0...7))
        let e = noiseEpochs.map { Double($0.epoch) }
        s += HTML.inlineSVG(SVGChart.lines(title: "Mean softmax entropy", xLabel: "epoch", yLabel: "nats",
                                           series: [("clean labels", Array(zip(e, noiseEpochs.map(\.meanEntropyClean)))),
                                                    ("wrong labels", Array(zip(e, noiseEpochs.map(\.meanEntropyMislabeled))))]))
        s += HTML.inlineSVG(SVGChart.lines(title: "Wrong labels: memorized and recovered", xLabel: "epoch", yLabel: "share of wrong labels",
                                           series: [("predicted as the wrong label", Array(zip(e, noiseEpochs.map(\.memorized)))),
                                                    ("predicted as the true class", Array(zip(e, noiseEpochs.map(\.recovered))))],
                                           yRange: 0...1))
        return s
    }

    func qualitySection() -> String {
        guard let q = quality, let cal = calibration else { return "<p class='note'>No quality check.</p>" }
        var s = "<p>Every image, both splits, measured at 32 x 32 as the model sees it: fine-detail level (Immerkaer's noise estimate: "
        s += "high means noisy, low means blurred), brightness, luminance entropy, and a difference hash for duplicates "
        s += "(exact: identical pixels; near: hashes at most \(cal.nearDuplicateBits) bits apart"
        s += (cal.nearDuplicateCorrelation.map { " and pixels correlated at least \(fmt($0, 2))" } ?? "") + "). Thresholds: \(esc(cal.source)). "
        s += "Flagged images: <code>quality.csv</code>.</p>\n"
        s += HTML.cards(q.counts().filter { $0.1 > 0 || ["noisy", "blurry", "duplicate", "near_duplicate"].contains($0.0) }.map { ("\($0.1)", $0.0) })
        s += HTML.table(["threshold", "value"], [
            ["noisy: detail above", fmt(cal.noisyAbove, 4)], ["blurry: detail below", fmt(cal.blurryBelow, 4)],
            ["dark: brightness below", fmt(cal.darkBelow, 3)], ["light: brightness above", fmt(cal.lightAbove, 3)],
            ["low information: entropy below (bits)", fmt(cal.lowInformationBelow, 2)]], numeric: [1])
        let per = show == 0 ? 0 : max(8, show / 2)
        for (flag, title) in [(QualityFlags.blurry, "Blurred"), (.noisy, "Noisy"), (.dark, "Too dark"), (.light, "Too light"),
                              (.lowInformation, "Low information")] {
            let idx = (0..<q.flags.count).filter { q.flags[$0].contains(flag) }
            guard !idx.isEmpty else { continue }
            // Most extreme first.
            let sorted = idx.sorted { a, b in
                switch flag {
                case .blurry: q.measures[a].detail < q.measures[b].detail
                case .noisy: q.measures[a].detail > q.measures[b].detail
                case .dark: q.measures[a].brightness < q.measures[b].brightness
                case .light: q.measures[a].brightness > q.measures[b].brightness
                default: q.measures[a].entropy < q.measures[b].entropy
                }
            }
            s += "<h3>\(title) (\(idx.count))</h3><div class='grid' id='quality-\(flag.description)'>"
            for i in sorted.prefix(per) {
                s += tile(i, [shortPath(path(i)), "detail \(fmt(q.measures[i].detail, 4))", "bright \(fmt(q.measures[i].brightness, 2))"])
            }
            s += "</div>\n"
        }
        let dups = (0..<q.flags.count).filter { q.duplicateOf[$0] != nil }
        if !dups.isEmpty {
            s += "<h3>Duplicates and near-duplicates (\(dups.count) images)</h3><div class='grid' id='quality-duplicates'>"
            for i in dups.prefix(per) {
                let d = q.duplicateOf[i]!
                s += "<div class='tile' style='width:150px'>" + HTML.thumbnail(image(i), size: 64, title: path(i))
                    + HTML.thumbnail(image(d.index), size: 64, title: path(d.index)) + "<br>"
                    + esc(shortPath(path(i))) + "<br>" + (d.exact ? "copy" : "near copy (\(d.bits) bits)") + " of " + esc(shortPath(path(d.index))) + "</div>"
            }
            s += "</div>\n"
        }
        return s
    }

    func robustnessSection() -> String {
        guard robustness.count > 1 else { return "<p class='note'>Skipped: the data has no test split.</p>" }
        var s = "<p>The audited model on \(robustness[0].images) test images under the study's corruptions: Gaussian noise (texture damage, "
        s += "sigma on [0, 1] pixels) and Gaussian blur (structure damage, sigma in pixels), each image with its own seeded noise. "
        s += "A steep fall means the model leans on what the corruption destroys. Rows: <code>robustness.csv</code>; the full CIFAR-10-C suite: "
        s += "<code>audit-cli robustness --suite cifar10c</code>.</p>\n"
        let clean = robustness[0]
        for (name, label) in [("noise", "Gaussian noise sigma (on [0,1] pixels)"), ("blur", "Gaussian blur sigma (pixels)")] {
            let rows = robustness.filter { $0.corruption == name }
            let acc = [(0.0, clean.accuracy)] + rows.map { ($0.level, $0.accuracy) }
            let conf = [(0.0, clean.meanConfidence)] + rows.map { ($0.level, $0.meanConfidence) }
            s += HTML.inlineSVG(SVGChart.lines(title: "Accuracy under \(name == "noise" ? "Gaussian noise" : "Gaussian blur")", xLabel: label,
                                               yLabel: "share of test images", series: [("accuracy", acc), ("mean confidence", conf)], yRange: 0...1,
                                               width: 540, height: 340))
        }
        let rows = robustness.map { r in
            [esc(r.corruption), r.corruption == "clean" ? "-" : fmt(r.level, 2), pct(r.accuracy, 2), fmt(r.meanConfidence, 3), fmt(r.meanEntropy, 3),
             "\(esc(r.mostPredicted)) (\(pct(r.mostPredictedShare)))"]
        }
        s += HTML.table(["corruption", "level", "accuracy", "mean confidence", "mean entropy", "most predicted"], rows, numeric: [1, 2, 3, 4])
        return s
    }

    func metadataSection() -> String {
        guard let m = metadataPath else {
            return "<p class='note'>No metadata: give a CSV with columns <code>path</code> (relative to the data folder) and <code>meta</code> "
                + "(a class name) with --metadata, or put it at <code>DIR/metadata.csv</code>.</p>"
        }
        let counts = Verdict.allCases.map { v in (v, verdicts.filter { $0 == v }.count) }
        let none = verdicts.filter { $0 == nil }.count
        var s = "<p>Each image's metadata claim (<code>\(esc(m))</code>) against what the image model sees in it: <b>conflict</b> when the model is "
        s += "confident in another class and gives the claim at most 10%, <b>consistent</b> when the claim is its top class or has at least 50%. "
        s += "Training images are judged by the model trained on them: one whose folder label is wrong and was learned can make a right "
        s += "claim look like a conflict, so conflicts whose label the label audit also flagged are marked. Every verdict: "
        s += "<code>metadata-verdicts.csv</code>.</p>\n"
        s += HTML.cards(counts.map { ("\($0.1)", $0.0.name) } + [("\(none)", "without a claim")]
                        + (unmatchedMetadata > 0 ? [("\(unmatchedMetadata)", "metadata rows naming no image of the data")] : []))
        let labelFlagged = Set(issues?.flagged ?? [])
        s += "<h3>Strongest conflicts (\(min(show, metaConflicts.count)) of \(metaConflicts.count))</h3><div class='grid' id='metadata-grid'>"
        for i in metaConflicts.prefix(show) {
            let p = probabilities(i)!
            let best = argmax(p)
            var lines = ["meta: \(name(claims[i]))", "image: \(train.classNames[best]) \(pct(Double(p[p.startIndex + best]), 0))",
                         "folder: \(name(i < train.count ? train.labels[i] : test!.labels[i - train.count]))"]
            if labelFlagged.contains(i) { lines.append("label flagged too") }
            s += tile(i, lines)
        }
        s += "</div>\n"
        if !fusion.isEmpty {
            s += "<h3>Shortcut test: would a model fed this metadata stop looking at the images?</h3>"
            s += "<p>A fusion model (the study's FusionNet: a ResNet-18 image encoder plus an MLP on the claim) trained on the training images "
            s += "and their claims, then shown every test image with a claim naming another class. Following the claim there means the metadata "
            s += "overrides the image: shortcut learning (the study: 81.6% followed the metadata). Recipes: trained jointly from scratch as the study "
            s += "did; the same with metadata dropout 0.5 (the claim hidden in half the training steps, the cure the study suggests); staged (the "
            s += "audited image encoder frozen, only the claim's MLP and the head trained). Rows: <code>fusion.csv</code>.</p>\n"
            let rows = fusion.map { f in
                [esc(f.recipe), pct(f.report.consistentAccuracy), pct(f.report.imageOnlyAccuracy), pct(f.report.share(f.report.followedMetadata)),
                 pct(f.report.share(f.report.followedImage)), pct(f.report.share(f.report.neither))]
            }
            s += HTML.table(["fusion recipe", "accuracy, true claims", "accuracy, no claim", "conflicts: followed metadata", "followed image", "neither"],
                            rows, numeric: [1, 2, 3, 4, 5])
            s += HTML.inlineSVG(SVGChart.stackedBars(title: "Contradicting claims: what the fusion model followed", rows: fusion.map(\.recipe),
                                                     segments: ["image", "metadata", "neither"],
                                                     values: fusion.map { [$0.report.share($0.report.followedImage), $0.report.share($0.report.followedMetadata),
                                                                           $0.report.share($0.report.neither)] },
                                                     colors: ["#2ca02c", "#d62728", "#bbbbbb"]))
        }
        return s
    }

    func truthSection() -> String {
        var s = "<p>This dataset was generated with planted problems (<code>truth.csv</code>); here is how many the report found "
        s += "(recall) and how many of its flags were planted (precision). Rows: <code>truth-check.csv</code>.</p>\n"
        let rows = truth.map { r in
            [esc(r.problem), esc(r.finder), "\(r.planted)", "\(r.found)", r.recall.isNaN ? "-" : fmt(r.recall, 3), "\(r.flagged)", "\(r.correct)",
             r.precision.isNaN ? "-" : fmt(r.precision, 3)]
        }
        s += HTML.table(["planted problem", "found by", "planted", "found", "recall", "flagged", "correct", "precision"], rows,
                        numeric: [2, 3, 4, 5, 6, 7], id: "truth-table")
        return s
    }

    func filesSection() -> String {
        var files = ["label-issues.csv", "quality.csv", "summary.json"]
        if !noiseEpochs.isEmpty { files.append("label-epochs.csv") }
        if robustness.count > 1 { files.append("robustness.csv") }
        if metadataPath != nil { files.append("metadata-verdicts.csv") }
        if !fusion.isEmpty { files.append("fusion.csv") }
        if !truth.isEmpty { files.append("truth-check.csv") }
        if modelSource.hasPrefix("trained here") { files.append("model.safetensors") }
        return "<p>Beside this page in <code>\(esc(out))</code>:</p><ul>" + files.map { "<li><a href='\($0)'>\($0)</a></li>" }.joined() + "</ul>"
    }

    func shortPath(_ p: String) -> String { p.count <= 28 ? p : "…" + p.suffix(27) }

    // MARK: summary.json and stdout

    func summaryJSON() -> JSON {
        var f: [(String, JSON)] = [("data", .string(dataPath)), ("model", .string(modelSource)),
                                   ("train_images", .int(Int64(train.count))), ("test_images", .int(Int64(test?.count ?? 0))),
                                   ("classes", .array(train.classNames.map { .string($0) })),
                                   ("test_accuracy", testAccuracy.map { .double($0) } ?? .null), ("seconds", .double(seconds))]
        if let i = issues {
            var l: [(String, JSON)] = [("flagged", .int(Int64(i.flagged.count))), ("estimated", .int(Int64(i.estimatedPerClass.reduce(0, +))))]
            if let n = noise, let last = noiseEpochs.last {
                l.append(("planted_mislabeled", .int(Int64(n.mislabeledCount))))
                l.append(("rule", setJSON(SetQuality(flagged: i.flagged, positives: n.isMislabeled))))
                l.append(("final_scores", .object(last.scores.map { ($0.name, .object([("auroc", .double($0.auroc)), ("flagged", setJSON($0.flaggedSet))])) })))
            }
            f.append(("labels", .object(l)))
        }
        if let q = quality { f.append(("quality", .object(q.counts().map { ($0.0, .int(Int64($0.1))) }))) }
        if !robustness.isEmpty {
            f.append(("robustness", .array(robustness.map { .object([("corruption", .string($0.corruption)), ("level", .double($0.level)),
                                                                     ("accuracy", .double($0.accuracy))]) })))
        }
        if metadataPath != nil {
            f.append(("metadata", .object(Verdict.allCases.map { v in (v.name, .int(Int64(verdicts.filter { $0 == v }.count))) })))
            f.append(("fusion", .array(fusion.map { x in .object([("recipe", .string(x.recipe)), ("followed_metadata", .double(x.report.share(x.report.followedMetadata))),
                                                                  ("followed_image", .double(x.report.share(x.report.followedImage)))]) })))
        }
        if !truth.isEmpty {
            f.append(("truth", .object(truth.map { r in (r.problem, .object([("planted", .int(Int64(r.planted))), ("found", .int(Int64(r.found))),
                                                                            ("flagged", .int(Int64(r.flagged))), ("correct", .int(Int64(r.correct))),
                                                                            ("recall", r.recall.isNaN ? .null : .double(r.recall)),
                                                                            ("precision", r.precision.isNaN ? .null : .double(r.precision))])) })))
        }
        return .object(f)
    }

    func printSummary() {
        print("section      finding")
        if let a = testAccuracy { print("model        test accuracy \(pct(a, 2)) (\(modelSource))") }
        if let i = issues {
            var line = "labels       \(i.flagged.count) of \(train.count) flagged (\(pct(Double(i.flagged.count) / Double(max(train.count, 1)))))"
            if let n = noise {
                let s = SetQuality(flagged: i.flagged, positives: n.isMislabeled)
                line += "; against the planted noise: precision \(fmt(s.precision, 3)), recall \(fmt(s.recall, 3)), F1 \(fmt(s.f1, 3))"
                if let a = noiseEpochs.last?.score("self_confidence")?.auroc { line += ", AUROC self-confidence \(fmt(a, 4))" }
            }
            print(line)
        }
        if let q = quality { print("quality      " + q.counts().filter { $0.1 > 0 }.map { "\($0.1) \($0.0)" }.joined(separator: ", ")) }
        if robustness.count > 1 {
            let worstNoise = robustness.last { $0.corruption == "noise" }, worstBlur = robustness.last { $0.corruption == "blur" }
            print("robustness   clean \(pct(robustness[0].accuracy, 2)), noise sigma 0.2 \(pct(worstNoise?.accuracy ?? .nan, 2)), blur sigma 2.5 \(pct(worstBlur?.accuracy ?? .nan, 2))")
        }
        if metadataPath != nil {
            var line = "metadata     \(metaConflicts.count) conflicts"
            for f in fusion { line += "; \(f.recipe): followed metadata \(pct(f.report.share(f.report.followedMetadata)))" }
            print(line)
        }
        if !truth.isEmpty {
            print("\nplanted problem    planted  found  recall  flagged  correct  precision")
            for r in truth {
                print(padRight(r.problem, 18) + padLeft("\(r.planted)", 8) + padLeft("\(r.found)", 7) + padLeft(r.recall.isNaN ? "-" : fmt(r.recall, 3), 8)
                      + padLeft("\(r.flagged)", 9) + padLeft("\(r.correct)", 9) + padLeft(r.precision.isNaN ? "-" : fmt(r.precision, 3), 11))
            }
        }
    }
}
