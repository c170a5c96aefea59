// Finding label issues without knowing the noise rate: confident learning (Northcutt, Jiang
// and Chuang, JAIR 2021), from (preferably out-of-sample or trajectory-averaged) softmax
// outputs.
//
// 1. Per-class thresholds: t_j = mean p_j over the samples labeled j (the model's average
//    self-confidence for class j).
// 2. Confident joint: a sample labeled i counts in C[i][j] for the class j with the largest
//    p_j among those with p_j >= t_j (samples above no threshold do not count).
// 3. Calibrate each row of C to the number of samples labeled i; its off-diagonal sum is
//    the estimated number of wrong labels in class i.
// 4. Prune: in each class i flag that many samples (then, as cleanlab, unflag any whose
//    given label is the model's top class), those with the highest ranking score
//    (by default the lowest self-confidence p_i, as cleanlab's prune_by_class; on CIFAR-10
//    with 20% noise it ranked better than the normalized margin: AUROC 0.984 vs 0.977,
//    flagged-set F1 0.847 vs 0.829 on the same probabilities).
//    That is `PruneFilter.byClass`. `.byNoiseRate` (cleanlab's default prune_by_noise_rate)
//    instead flags, for each off-diagonal cell C[i][j], the C[i][j] samples labeled i with
//    the largest margin p_j - p_i: it follows the joint's structure, which matters when the
//    noise has one (class pairs: on CIFAR-10 with 20% asymmetric noise it gave F1 0.72 where
//    by class gave 0.65); `.both` flags what both would.
// Each flag suggests the most likely other class.

/// How confident learning picks the samples it flags from the confident joint's counts.
public enum PruneFilter: String, CaseIterable, Sendable {
    /// In each given class i, the row's off-diagonal count of samples with the highest
    /// ranking score (lowest self-confidence by default).
    case byClass = "by-class"
    /// For each off-diagonal cell (i, j), its count of samples labeled i with the largest
    /// p_j - p_i.
    case byNoiseRate = "by-noise-rate"
    /// Flagged by both.
    case both
}

public struct LabelIssues: Sendable {
    /// Flagged sample indices, most suspicious first.
    public var flagged: [Int]
    /// Per sample: the most likely class other than its given one.
    public var suggested: [Int32]
    /// The ranking score of every sample (higher = more suspicious).
    public var score: [Float]
    public var thresholds: [Float]
    /// Calibrated confident joint, rounded: joint[given][likely true].
    public var joint: [[Int]]
    /// Estimated wrong labels per given class (row sums of the joint's off-diagonal).
    public var estimatedPerClass: [Int]
}

public enum ConfidentLearning {
    /// `probabilities`: count x k softmax rows; `given`: the labels to audit; `rankBy`: an
    /// optional ranking score per sample (higher = more suspicious) replacing 1 - p(given).
    /// `filter` chooses how the flagged samples are picked (the ranking then orders them).
    public static func findIssues(probabilities p: [Float], given: [Int32], numClasses k: Int,
                                  rankBy: [Float]? = nil, filter: PruneFilter = .byClass) -> LabelIssues {
        let n = given.count
        precondition(p.count == n * k && k >= 2)
        precondition(rankBy == nil || rankBy!.count == n)
        var sums = [Double](repeating: 0, count: k), counts = [Int](repeating: 0, count: k)
        for i in 0..<n {
            let y = Int(given[i])
            sums[y] += Double(p[i * k + y]); counts[y] += 1
        }
        let t = (0..<k).map { counts[$0] > 0 ? Float(sums[$0] / Double(counts[$0])) : 1 }
        var raw = [[Double]](repeating: [Double](repeating: 0, count: k), count: k)
        var suggested = [Int32](repeating: 0, count: n)
        var selfScore = [Float](repeating: 0, count: n)
        var argmax = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            let y = Int(given[i]), row = i * k
            var best = -1, other = -1, top = 0
            for j in 0..<k {
                if p[row + j] >= t[j] && (best < 0 || p[row + j] > p[row + best]) { best = j }
                if j != y && (other < 0 || p[row + j] > p[row + other]) { other = j }
                if p[row + j] > p[row + top] { top = j }
            }
            if best >= 0 { raw[y][best] += 1 }
            argmax[i] = Int32(top)
            suggested[i] = Int32(other)
            selfScore[i] = 1 - p[row + y]  // higher = more suspicious
        }
        var joint = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        var perClass = [Int](repeating: 0, count: k)
        for i in 0..<k {
            let rowSum = raw[i].reduce(0, +)
            guard rowSum > 0 else { continue }
            let scale = Double(counts[i]) / rowSum
            for j in 0..<k { joint[i][j] = Int((raw[i][j] * scale).rounded()) }
            // At most half a class: beyond that its true majority is not identifiable, and a
            // model still near chance (every threshold ~1/k) would otherwise flag nearly all.
            perClass[i] = min(counts[i] / 2, (0..<k).filter { $0 != i }.reduce(0) { $0 + joint[i][$1] })
        }
        let score = rankBy ?? selfScore
        // As cleanlab: a sample whose given label is the model's top class is not an issue,
        // whatever its rank (matters most for label-blind rankings such as entropy).
        var picked: [Int]
        switch filter {
        case .byClass: picked = prune(perClass: perClass, given: given, score: score)
        case .byNoiseRate: picked = pruneByNoiseRate(joint: joint, perClass: perClass, probabilities: p, given: given, score: score)
        case .both:
            let byRate = Set(pruneByNoiseRate(joint: joint, perClass: perClass, probabilities: p, given: given, score: score))
            picked = prune(perClass: perClass, given: given, score: score).filter { byRate.contains($0) }
        }
        let flagged = picked.filter { argmax[$0] != given[$0] }
        return LabelIssues(flagged: flagged, suggested: suggested, score: score, thresholds: t,
                           joint: joint, estimatedPerClass: perClass)
    }

    /// For each off-diagonal cell (i, j) of the joint, the joint[i][j] samples labeled i with
    /// the largest p_j - p_i (a sample picked by several cells counts once). The cells of a
    /// row are scaled down together when their sum exceeds perClass[i] (the half-class cap).
    /// Most suspicious (by `score`) first.
    public static func pruneByNoiseRate(joint: [[Int]], perClass: [Int], probabilities p: [Float], given: [Int32],
                                        score: [Float]) -> [Int] {
        let k = joint.count
        precondition(p.count == given.count * k && score.count == given.count)
        var byClass = [[Int]](repeating: [], count: k)
        for i in given.indices { byClass[Int(given[i])].append(i) }
        var picked = [Bool](repeating: false, count: given.count)
        for i in 0..<k where perClass[i] > 0 {
            let off = (0..<k).filter { $0 != i }.reduce(0) { $0 + joint[i][$1] }
            let scale = off > perClass[i] ? Double(perClass[i]) / Double(off) : 1
            for j in 0..<k where j != i {
                let m = Int((Double(joint[i][j]) * scale).rounded(.down))
                guard m > 0 else { continue }
                let top = byClass[i].sorted { (p[$0 * k + j] - p[$0 * k + i], $1) > (p[$1 * k + j] - p[$1 * k + i], $0) }.prefix(m)
                for s in top { picked[s] = true }
            }
        }
        return given.indices.filter { picked[$0] }.sorted { score[$0] > score[$1] }
    }

    /// In each given class c, the perClass[c] samples with the highest score; most suspicious first.
    public static func prune(perClass: [Int], given: [Int32], score: [Float]) -> [Int] {
        precondition(score.count == given.count)
        var byClass = [[Int]](repeating: [], count: perClass.count)
        for i in given.indices { byClass[Int(given[i])].append(i) }
        var flagged: [Int] = []
        for c in perClass.indices where perClass[c] > 0 {
            flagged += byClass[c].sorted { score[$0] > score[$1] }.prefix(perClass[c])
        }
        return flagged.sorted { score[$0] > score[$1] }
    }
}
