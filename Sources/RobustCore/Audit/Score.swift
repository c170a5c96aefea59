// What scoring one image says: the prediction, how sure the model is (probabilities, softmax
// entropy as in the study, top-2 margin) and, given a claimed label, whether the image
// contradicts it. Verdicts and gate decisions come from thresholds the caller can change.

/// Softmax entropy in nats of a probability vector; NaN when it is not one (negative
/// entries, non-finite values, or a sum off 1 by more than 1e-3).
public func probabilityEntropy(_ p: [Float]) -> Float {
    guard !p.isEmpty else { return .nan }
    var sum: Double = 0, h: Double = 0
    for v in p {
        guard v.isFinite, v >= 0 else { return .nan }
        sum += Double(v)
        if v > 0 { h -= Double(v) * cLog(Double(v)) }
    }
    guard abs(sum - 1) <= 1e-3 else { return .nan }
    return Float(h)
}

public struct Score: Sendable, Equatable {
    public var predicted: Int
    public var predictedName: String
    public var probabilities: [Float]
    /// Softmax entropy in nats, and divided by ln(classes) so that it lies in [0, 1].
    public var entropy: Float
    public var normalizedEntropy: Float
    /// p(top-1) - p(top-2).
    public var margin: Float
    /// The claimed class (index), its probability, and whether the image contradicts it
    /// (see `ConflictPolicy`); nil without a claim.
    public var claimed: Int?
    public var claimedProbability: Float?
    public var verdict: Verdict?

    public var confidence: Float { probabilities[predicted] }

    /// From a probability row and an optional claim.
    public init(probabilities p: [Float], classNames: [String], claimed: Int?, policy: ConflictPolicy = .init()) {
        precondition(p.count == classNames.count && !p.isEmpty)
        var best = 0, second = -1
        for j in 1..<p.count {
            if p[j] > p[best] { second = best; best = j } else if second < 0 || p[j] > p[second] { second = j }
        }
        predicted = best
        predictedName = classNames[best]
        probabilities = p
        let e = probabilityEntropy(p), h = e.isNaN ? 0 : max(0, e)
        entropy = h
        normalizedEntropy = p.count > 1 ? min(1, h / Float(cLog(Double(p.count)))) : 0
        margin = second >= 0 ? p[best] - p[second] : 1
        if let c = claimed {
            self.claimed = c
            claimedProbability = p[c]
            verdict = policy.verdict(predicted: best, confidence: p[best], claimed: c, claimedProbability: p[c])
        }
    }
}

/// Image versus claimed label.
public enum Verdict: Int32, Sendable, CaseIterable {
    /// The model agrees with the claim.
    case consistent = 0
    /// The model is confident in another class and gives the claim little probability.
    case conflict = 1
    /// Neither: the model is unsure, or the claim is plausible without being its top choice.
    case uncertain = 2

    public var name: String {
        switch self { case .consistent: "consistent"; case .conflict: "conflict"; case .uncertain: "uncertain" }
    }
}

/// Thresholds of the image-versus-claim verdict.
///  - consistent: the claim is the top class, or its probability is at least `consistentProbability`;
///  - conflict: another class has at least `conflictConfidence` and the claim at most `conflictProbability`;
///  - uncertain: everything else.
public struct ConflictPolicy: Sendable, Equatable {
    public var consistentProbability: Float = 0.5
    public var conflictConfidence: Float = 0.5
    public var conflictProbability: Float = 0.1
    public init() {}

    public func verdict(predicted: Int, confidence: Float, claimed: Int, claimedProbability pc: Float) -> Verdict {
        if predicted == claimed || pc >= consistentProbability { return .consistent }
        if confidence >= conflictConfidence && pc <= conflictProbability { return .conflict }
        return .uncertain
    }
}

/// Upload gating: accept, send to a person, or reject.
public enum GateDecision: Int32, Sendable {
    case accept = 0, review = 1, reject = 2
    public var name: String {
        switch self { case .accept: "accept"; case .review: "review"; case .reject: "reject" }
    }
}

/// Why a gate did not simply accept: a bit set (the C ABI's ROBUST_REASON_* values).
public struct GateReasons: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The bytes are not a readable PNG/JPEG (or exceed the pixel cap).
    public static let unreadable = GateReasons(rawValue: 1 << 0)
    /// The image contradicts its claimed label (verdict conflict).
    public static let labelConflict = GateReasons(rawValue: 1 << 1)
    /// The claim is neither confirmed nor contradicted (verdict uncertain).
    public static let labelUncertain = GateReasons(rawValue: 1 << 2)
    /// The model cannot tell what the image shows (normalized entropy above the limit).
    public static let highEntropy = GateReasons(rawValue: 1 << 3)
    /// The model's top class has less probability than the policy's minimum.
    public static let lowConfidence = GateReasons(rawValue: 1 << 4)
    /// Image quality (with GatePolicy.quality): noisier than the calibration's clean images.
    public static let noisy = GateReasons(rawValue: 1 << 5)
    /// Blurrier than the calibration's clean images.
    public static let blurry = GateReasons(rawValue: 1 << 6)
    /// Darker or lighter than the calibration's clean images.
    public static let badExposure = GateReasons(rawValue: 1 << 7)
    /// Less luminance entropy than the calibration's clean images (nearly empty).
    public static let lowInformation = GateReasons(rawValue: 1 << 8)

    public var names: [String] {
        var out: [String] = []
        if contains(.unreadable) { out.append("unreadable") }
        if contains(.labelConflict) { out.append("label_conflict") }
        if contains(.labelUncertain) { out.append("label_uncertain") }
        if contains(.highEntropy) { out.append("high_entropy") }
        if contains(.lowConfidence) { out.append("low_confidence") }
        if contains(.noisy) { out.append("noisy") }
        if contains(.blurry) { out.append("blurry") }
        if contains(.badExposure) { out.append("bad_exposure") }
        if contains(.lowInformation) { out.append("low_information") }
        return out
    }
}

/// Gate thresholds. Reject: unreadable, or a label conflict. Review: an uncertain claim,
/// normalized entropy above `maxNormalizedEntropy`, confidence below `minConfidence`, or
/// (with `quality`) an image the quality thresholds flag as noisy, blurred, badly exposed or
/// nearly empty. Accept: nothing of the above.
public struct GatePolicy: Sendable, Equatable {
    public var conflict = ConflictPolicy()
    public var maxNormalizedEntropy: Float = 0.6
    public var minConfidence: Float = 0.3
    /// Image-quality thresholds, or nil to skip the quality check.
    public var quality: QualityCalibration? = .cifar10
    public init() {}

    /// Quality flags as gate reasons.
    public static func reasons(_ f: QualityFlags) -> GateReasons {
        var r: GateReasons = []
        if f.contains(.noisy) { r.insert(.noisy) }
        if f.contains(.blurry) { r.insert(.blurry) }
        if f.contains(.dark) || f.contains(.light) { r.insert(.badExposure) }
        if f.contains(.lowInformation) { r.insert(.lowInformation) }
        return r
    }

    public func decide(_ s: Score, quality q: QualityFlags = []) -> (GateDecision, GateReasons) {
        var r = GatePolicy.reasons(q)
        if s.verdict == .conflict { r.insert(.labelConflict) }
        if s.verdict == .uncertain { r.insert(.labelUncertain) }
        if s.normalizedEntropy > maxNormalizedEntropy { r.insert(.highEntropy) }
        if s.confidence < minConfidence { r.insert(.lowConfidence) }
        if r.contains(.labelConflict) { return (.reject, r) }
        return (r.isEmpty ? .accept : .review, r)
    }
}
