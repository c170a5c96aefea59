// The study's third experiment as measures of a trained FusionNet on a labeled test set:
//
//  - conflict test: every image paired with a random other class as its claim; did the
//    prediction follow the claim, the image (its true label), or neither?
//  - unimodal accuracies: the image with the claim missing, the claim with the image zeroed;
//  - consistent-pair accuracy: every image with its true class as the claim;
//  - permutation reliance (Gat et al. 2021, "perceptual score"): the accuracy lost when one
//    modality is shuffled across the test set while the other stays with its label.
//
// The image encoder runs once; every condition reuses its features (only the claim changes).

public struct ModalityReport: Sendable {
    public var images: Int
    /// Conflict test, out of `images` pairs.
    public var followedMetadata = 0, followedImage = 0, neither = 0
    /// Conflict pairs whose image the image-only path classifies correctly, and how many of
    /// those the fused prediction still got right (followed the image).
    public var imageOnlyRight = 0, followedImageWhereImageOnlyRight = 0
    public var consistentAccuracy = 0.0, imageOnlyAccuracy = 0.0, metadataOnlyAccuracy = 0.0
    /// Accuracy with the claims shuffled across images (labels stay with the images), and
    /// with the images shuffled (labels stay with the claims).
    public var metadataPermutedAccuracy = 0.0, imagePermutedAccuracy = 0.0

    /// Per test image: true label, the contradicting claim, and the predictions with it,
    /// with the true claim, and with no claim; the image-only probabilities [N, K].
    public var labels: [Int32] = [], conflictClaims: [Int32] = []
    public var conflictPredicted: [Int32] = [], consistentPredicted: [Int32] = [], imageOnlyPredicted: [Int32] = []
    public var imageOnlyProbabilities: [Float] = []

    /// Accuracy lost when the claims (images) are shuffled, in accuracy units.
    public var metadataReliance: Double { consistentAccuracy - metadataPermutedAccuracy }
    public var imageReliance: Double { consistentAccuracy - imagePermutedAccuracy }

    public init(images: Int) { self.images = images }

    public func share(_ c: Int) -> Double { images > 0 ? Double(c) / Double(images) : 0 }
}

public enum ModalityConflict {
    /// All measures of `model` on `data` (labels are the truth). `seed` draws the
    /// contradicting claims and the permutation.
    public static func measure(_ model: FusionNet, data: Dataset, normalization: Normalization, seed: UInt64 = 0,
                               batchSize: Int = 256, progress: ((Int, Int) -> Void)? = nil) -> ModalityReport {
        let feats = FusionEvaluator.features(model, data, normalization: normalization, batchSize: batchSize, progress: progress)
        return measure(model, features: feats, labels: data.labels, seed: seed)
    }

    public static func measure(_ model: FusionNet, features: Tensor, labels: [Int32], seed: UInt64 = 0) -> ModalityReport {
        let n = labels.count, k = model.numClasses
        var r = ModalityReport(images: n)
        guard n > 0 else { return r }
        r.labels = labels
        func predict(_ meta: [Int32], imageOff: Bool = false) -> [Int32] {
            FusionEvaluator.predicted(FusionEvaluator.probabilities(model, features: features, meta: meta, imageOff: imageOff), classes: k)
        }
        func accuracy(_ p: [Int32], _ truth: [Int32]) -> Double {
            Double(zip(p, truth).filter { $0 == $1 }.count) / Double(n)
        }
        let missing = [Int32](repeating: FusionNet.missing, count: n)
        r.imageOnlyProbabilities = FusionEvaluator.probabilities(model, features: features, meta: missing)
        r.imageOnlyPredicted = FusionEvaluator.predicted(r.imageOnlyProbabilities, classes: k)
        r.imageOnlyAccuracy = accuracy(r.imageOnlyPredicted, labels)
        r.consistentPredicted = predict(labels)
        r.consistentAccuracy = accuracy(r.consistentPredicted, labels)
        r.metadataOnlyAccuracy = accuracy(predict(labels, imageOff: true), labels)

        r.conflictClaims = contradictingTags(labels: labels, classes: k, seed: seed)
        r.conflictPredicted = predict(r.conflictClaims)
        for i in 0..<n {
            let p = r.conflictPredicted[i]
            if p == r.conflictClaims[i] { r.followedMetadata += 1 } else if p == labels[i] { r.followedImage += 1 } else { r.neither += 1 }
            if r.imageOnlyPredicted[i] == labels[i] {
                r.imageOnlyRight += 1
                if p == labels[i] { r.followedImageWhereImageOnlyRight += 1 }
            }
        }

        // One pass serves both permutations: image i with the claim of image perm[i]. Judged
        // against label i, the claims were shuffled; against label perm[i], the images were.
        var perm = Array(0..<n)
        var rng = RNG.derived(seed: seed, 0x9E3B)
        rng.shuffle(&perm)
        let shuffledClaims = perm.map { labels[$0] }
        let p = predict(shuffledClaims)
        r.metadataPermutedAccuracy = accuracy(p, labels)
        r.imagePermutedAccuracy = accuracy(p, shuffledClaims)
        return r
    }

    /// The conflict check as a gate: verdict counts (consistent, uncertain, conflict) of the
    /// claims against probabilities [N, K] (a model's image-only output), under `policy`.
    public static func verdictCounts(probabilities: [Float], claims: [Int32], classes k: Int,
                                     policy: ConflictPolicy = .init()) -> [Verdict: Int] {
        precondition(probabilities.count == claims.count * k)
        var out: [Verdict: Int] = [.consistent: 0, .uncertain: 0, .conflict: 0]
        for i in claims.indices {
            let row = Array(probabilities[(i * k)..<((i + 1) * k)])
            let best = argmax(row[...])
            let c = Int(claims[i])
            out[policy.verdict(predicted: best, confidence: row[best], claimed: c, claimedProbability: row[c]), default: 0] += 1
        }
        return out
    }
}
