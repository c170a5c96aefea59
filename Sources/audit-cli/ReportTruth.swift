// The report's findings against the problems planted in a generated dataset (truth.csv from
// `synth --plant`): recall and precision per problem type.
import RobustCore

/// One problem type: what was planted, what the report flagged, and how many of its flags
/// were planted problems.
struct TruthRow {
    var problem: String
    /// The report's check that should find it.
    var finder: String
    var planted: Int, found: Int
    var flagged: Int, correct: Int
    var recall: Double { planted == 0 ? .nan : Double(found) / Double(planted) }
    var precision: Double { flagged == 0 ? .nan : Double(correct) / Double(flagged) }
}

extension ReportContext {
    /// truth.csv's rows by problem: (image index, detail), for the images the data loaded.
    func readTruth(_ truthPath: String) throws -> [String: [(Int, String)]] {
        let (header, rows) = try readCSV(truthPath, limit: 1 << 28)
        guard let pc = header.firstIndex(of: "path"), let kc = header.firstIndex(of: "problem") else {
            throw RobustError.format(path: truthPath, reason: "needs a header with 'path' and 'problem' columns")
        }
        let dc = header.firstIndex(of: "detail")
        let index = indexByPath
        var planted: [String: [(Int, String)]] = [:]
        for (n, f) in rows {
            guard f.count > max(pc, kc) else { throw RobustError.format(path: truthPath, reason: "line \(n) has \(f.count) fields") }
            guard let i = index[f[pc]] else { continue }  // an image the data loader skipped
            planted[f[kc], default: []].append((i, dc.flatMap { $0 < f.count ? f[$0] : nil } ?? ""))
        }
        return planted
    }

    /// Image index by path relative to the data folder.
    var indexByPath: [String: Int] {
        var out: [String: Int] = [:]
        for i in 0..<allCount { out[path(i)] = i }
        return out
    }

    mutating func checkTruth(_ planted: [String: [(Int, String)]]) throws {
        let index = indexByPath
        truth = []

        func row(_ problem: String, _ finder: String, positives: Set<Int>, flagged: [Int]) -> TruthRow {
            let hit = flagged.filter { positives.contains($0) }.count
            return TruthRow(problem: problem, finder: finder, planted: positives.count, found: hit, flagged: flagged.count, correct: hit)
        }
        if let issues {
            truth.append(row("mislabeled", "label audit", positives: Set((planted["mislabeled"] ?? []).map(\.0)), flagged: issues.flagged))
        }
        if let q = quality {
            for (problem, flag) in [("blurred", QualityFlags.blurry), ("noisy", QualityFlags.noisy)] {
                let flagged = (0..<q.flags.count).filter { q.flags[$0].contains(flag) }
                truth.append(row(problem, "quality: \(flag.description)", positives: Set((planted[problem] ?? []).map(\.0)), flagged: flagged))
            }
            // A planted copy is found when either image of the pair is flagged as repeating
            // the other; a flag is correct when its pair is a planted one.
            for (problem, flag) in [("duplicate", QualityFlags.duplicate), ("near_duplicate", QualityFlags.nearDuplicate)] {
                var pairs = Set<[Int]>()
                for (copy, detail) in planted[problem] ?? [] {
                    guard detail.hasPrefix("of="), let orig = index[String(detail.dropFirst(3))] else { continue }
                    pairs.insert([min(copy, orig), max(copy, orig)])
                }
                let flagged = (0..<q.flags.count).filter { q.flags[$0].contains(flag) }
                let flaggedPairs = flagged.map { i in [min(i, q.duplicateOf[i]!.index), max(i, q.duplicateOf[i]!.index)] }
                let correct = flaggedPairs.filter { pairs.contains($0) }.count
                let found = pairs.filter { Set(flaggedPairs).contains($0) }.count
                truth.append(TruthRow(problem: problem, finder: "quality: \(flag.description)", planted: pairs.count, found: found,
                                      flagged: flagged.count, correct: correct))
            }
        }
        if metadataPath != nil {
            truth.append(row("metadata_conflict", "metadata: conflict verdict", positives: Set((planted["metadata_conflict"] ?? []).map(\.0)),
                             flagged: metaConflicts))
        }
        var csv = "problem,finder,planted,found,recall,flagged,correct,precision\n"
        for r in truth { csv += "\(r.problem),\(csvField(r.finder)),\(r.planted),\(r.found),\(r.recall),\(r.flagged),\(r.correct),\(r.precision)\n" }
        try FileIO.writeAtomically(joinPath(out, "truth-check.csv"), text: csv)
    }
}
