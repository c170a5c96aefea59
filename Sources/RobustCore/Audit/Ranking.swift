// How well a score separates two groups, and how good a flagged set is.

/// Area under the ROC curve of `scores` for `positives` (higher score = more likely
/// positive): the Mann-Whitney U statistic with average ranks for ties, so a constant score
/// gives exactly 0.5. NaN when either group is empty or a score is NaN.
public func auroc(_ scores: [Float], positives: [Bool]) -> Double {
    precondition(scores.count == positives.count)
    let nPos = positives.filter { $0 }.count, nNeg = scores.count - nPos
    guard nPos > 0, nNeg > 0, !scores.contains(where: \.isNaN) else { return .nan }
    let order = scores.indices.sorted { scores[$0] < scores[$1] }
    var rankSumPos = 0.0
    var i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
        let avgRank = Double(i + j) / 2 + 1  // ranks i+1 ... j+1
        for t in i...j where positives[order[t]] { rankSumPos += avgRank }
        i = j + 1
    }
    let u = rankSumPos - Double(nPos) * Double(nPos + 1) / 2
    return u / (Double(nPos) * Double(nNeg))
}

public struct SetQuality: Sendable, Equatable {
    public var flagged: Int, truePositives: Int, positives: Int
    public var precision: Double { flagged == 0 ? 0 : Double(truePositives) / Double(flagged) }
    public var recall: Double { positives == 0 ? 0 : Double(truePositives) / Double(positives) }
    public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }

    public init(flagged: [Int], positives: [Bool]) {
        self.flagged = flagged.count
        truePositives = flagged.filter { positives[$0] }.count
        self.positives = positives.filter { $0 }.count
    }
}
