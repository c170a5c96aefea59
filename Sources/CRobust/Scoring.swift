// Scoring, entropy, modality-conflict checks and gating.
import CRobustABI
#if canImport(Glibc)
import Glibc
#endif
import RobustCore

func policies(_ p: UnsafePointer<robust_policy>?, _ fn: String) throws -> GatePolicy {
    var g = GatePolicy()
    guard let p = p?.pointee else { return g }
    let fields = [p.consistent_probability, p.conflict_confidence, p.conflict_probability,
                  p.max_entropy_normalized, p.min_confidence]
    guard fields.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 1 }) else {
        throw invalid(fn, "policy thresholds must lie in [0, 1]")
    }
    g.conflict.consistentProbability = p.consistent_probability
    g.conflict.conflictConfidence = p.conflict_confidence
    g.conflict.conflictProbability = p.conflict_probability
    g.maxNormalizedEntropy = p.max_entropy_normalized
    g.minConfidence = p.min_confidence
    var q = p.quality
    g.quality = p.check_quality != 0 ? try calibration(&q, fn) : nil
    return g
}

func claim(_ c: Int32, _ h: ModelHandle, _ fn: String) throws -> Int? {
    if c == ROBUST_NO_CLAIM { return nil }
    guard c >= 0 && Int(c) < h.names.count else {
        throw invalid(fn, "claimed class \(c) is not in 0..<\(h.names.count) (or ROBUST_NO_CLAIM)")
    }
    return Int(c)
}

func cScore(_ s: Score, _ h: ModelHandle) -> robust_score {
    robust_score(predicted_class: Int32(s.predicted), predicted_name: UnsafePointer(h.names[s.predicted]),
                 confidence: s.confidence, entropy: s.entropy, entropy_normalized: s.normalizedEntropy,
                 margin: s.margin, claimed_class: s.claimed.map(Int32.init) ?? ROBUST_NO_CLAIM,
                 claimed_probability: s.claimedProbability ?? -1,
                 verdict: s.verdict?.rawValue ?? ROBUST_VERDICT_NONE, num_classes: Int32(s.probabilities.count))
}

/// Checks out/probs before any work, so that nothing is written on failure.
func checkOutputs(_ out: UnsafeMutableRawPointer?, _ probs: UnsafeMutablePointer<Float>?, _ capacity: Int,
                  need: Int, _ fn: String) throws {
    guard out != nil else { throw invalid(fn, "out is NULL") }
    if probs != nil && capacity < need {
        throw invalid(fn, "probs_capacity \(capacity) is less than the \(need) probabilities to write")
    }
}

func write(_ scores: [Score], _ h: ModelHandle, _ out: UnsafeMutablePointer<robust_score>, _ probs: UnsafeMutablePointer<Float>?) {
    let k = h.names.count
    for (i, s) in scores.enumerated() {
        out[i] = cScore(s, h)
        if let probs { for j in 0..<k { probs[i * k + j] = s.probabilities[j] } }
    }
}

@_cdecl("robust_score_file")
public func robust_score_file(_ model: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ claimed: Int32,
                              _ policy: UnsafePointer<robust_policy>?, _ out: UnsafeMutablePointer<robust_score>?,
                              _ probs: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    let fn = "robust_score_file"
    return guarded {
        let h = try ModelHandle.from(model, fn)
        let path = try string(path, fn, "path")
        try checkOutputs(out, probs, capacity, need: h.names.count, fn)
        let p = try policies(policy, fn)
        let s = try h.classifier.score(path: path, claimed: try claim(claimed, h, fn), policy: p.conflict)
        write([s], h, out!, probs)
        return ROBUST_OK
    }
}

@_cdecl("robust_score_encoded")
public func robust_score_encoded(_ model: OpaquePointer?, _ data: UnsafeRawPointer?, _ size: Int, _ claimed: Int32,
                                 _ policy: UnsafePointer<robust_policy>?, _ out: UnsafeMutablePointer<robust_score>?,
                                 _ probs: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    let fn = "robust_score_encoded"
    return guarded {
        let h = try ModelHandle.from(model, fn)
        guard let data else { throw invalid(fn, "data is NULL") }
        try checkOutputs(out, probs, capacity, need: h.names.count, fn)
        let p = try policies(policy, fn)
        let bytes = [UInt8](UnsafeRawBufferPointer(start: data, count: size))
        let s = try h.classifier.score(encoded: bytes, source: "<memory>", claimed: try claim(claimed, h, fn), policy: p.conflict)
        write([s], h, out!, probs)
        return ROBUST_OK
    }
}

/// Packed RGB rows of a caller's buffer, with the size checked against the pixel cap first.
func rgbImage(_ rgb: UnsafePointer<UInt8>?, _ width: Int32, _ height: Int32, stride: Int, _ h: ModelHandle, _ fn: String) throws -> RGBImage {
    guard let rgb else { throw invalid(fn, "rgb is NULL") }
    guard width > 0, height > 0 else { throw RobustError.decode(path: "<pixels>", reason: "image of \(width)x\(height) pixels is empty") }
    let (px, overflow) = Int(width).multipliedReportingOverflow(by: Int(height))
    guard !overflow, px <= h.classifier.maxPixels else {
        throw RobustError.decode(path: "<pixels>", reason: "\(width)x\(height) pixels exceeds the cap of \(h.classifier.maxPixels) pixels")
    }
    let row = Int(width) * 3
    let stride = stride == 0 ? row : stride
    guard stride >= row else { throw invalid(fn, "row_stride \(stride) is less than width * 3 = \(row)") }
    var pixels = [UInt8](repeating: 0, count: px * 3)
    pixels.withUnsafeMutableBufferPointer { dst in
        for y in 0..<Int(height) { (dst.baseAddress! + y * row).update(from: rgb + y * stride, count: row) }
    }
    return RGBImage(width: Int(width), height: Int(height), pixels: pixels)
}

@_cdecl("robust_score_rgb")
public func robust_score_rgb(_ model: OpaquePointer?, _ rgb: UnsafePointer<UInt8>?, _ width: Int32, _ height: Int32,
                             _ rowStride: Int, _ claimed: Int32, _ policy: UnsafePointer<robust_policy>?,
                             _ out: UnsafeMutablePointer<robust_score>?, _ probs: UnsafeMutablePointer<Float>?,
                             _ capacity: Int) -> Int32 {
    let fn = "robust_score_rgb"
    return guarded {
        let h = try ModelHandle.from(model, fn)
        try checkOutputs(out, probs, capacity, need: h.names.count, fn)
        let p = try policies(policy, fn)
        let c = try claim(claimed, h, fn)
        let img = try rgbImage(rgb, width, height, stride: rowStride, h, fn)
        write([try h.classifier.score(img, claimed: c, policy: p.conflict)], h, out!, probs)
        return ROBUST_OK
    }
}

@_cdecl("robust_score_rgb_batch")
public func robust_score_rgb_batch(_ model: OpaquePointer?, _ rgb: UnsafePointer<UInt8>?, _ count: Int32, _ width: Int32,
                                   _ height: Int32, _ claimed: UnsafePointer<Int32>?, _ policy: UnsafePointer<robust_policy>?,
                                   _ out: UnsafeMutablePointer<robust_score>?, _ probs: UnsafeMutablePointer<Float>?,
                                   _ capacity: Int) -> Int32 {
    let fn = "robust_score_rgb_batch"
    return guarded {
        let h = try ModelHandle.from(model, fn)
        guard count >= 1, Int(count) <= Classifier.maxBatch else {
            throw invalid(fn, "count \(count) is not in 1...\(Classifier.maxBatch)")
        }
        let n = Int(count)
        try checkOutputs(out, probs, capacity, need: n * h.names.count, fn)
        let p = try policies(policy, fn)
        let claims: [Int?] = try (0..<n).map { i in try claimed.map { try claim($0[i], h, fn) } ?? nil }
        guard let rgb else { throw invalid(fn, "rgb is NULL") }
        let first = try rgbImage(rgb, width, height, stride: 0, h, fn)
        let bytes = first.pixels.count
        var images = [first]
        for i in 1..<n { images.append(try rgbImage(rgb + i * bytes, width, height, stride: 0, h, fn)) }
        write(try h.classifier.score(images, claimed: claims, policy: p.conflict), h, out!, probs)
        return ROBUST_OK
    }
}

@_cdecl("robust_entropy")
public func robust_entropy(_ probs: UnsafePointer<Float>?, _ n: Int, _ outNats: UnsafeMutablePointer<Float>?,
                           _ outNormalized: UnsafeMutablePointer<Float>?) -> Int32 {
    let fn = "robust_entropy"
    return guarded {
        guard let probs else { throw invalid(fn, "probs is NULL") }
        guard let outNats else { throw invalid(fn, "out_nats is NULL") }
        guard n >= 1, n <= 1 << 24 else { throw invalid(fn, "n = \(n) is not in 1...\(1 << 24)") }
        let h = probabilityEntropy(Array(UnsafeBufferPointer(start: probs, count: n)))
        guard !h.isNaN else { throw invalid(fn, "not a probability vector (finite, non-negative, summing to 1 within 1e-3)") }
        outNats.pointee = max(0, h)
        outNormalized?.pointee = n > 1 ? min(1, max(0, h) / logf(Float(n))) : 0
        return ROBUST_OK
    }
}

@_cdecl("robust_check_conflict")
public func robust_check_conflict(_ model: OpaquePointer?, _ data: UnsafeRawPointer?, _ size: Int,
                                  _ claimed: UnsafePointer<CChar>?, _ policy: UnsafePointer<robust_policy>?,
                                  _ out: UnsafeMutablePointer<robust_conflict>?) -> Int32 {
    let fn = "robust_check_conflict"
    return guarded {
        let h = try ModelHandle.from(model, fn)
        guard let data else { throw invalid(fn, "data is NULL") }
        guard let out else { throw invalid(fn, "out is NULL") }
        let c = try h.classifier.classIndex(try string(claimed, fn, "claimed"))
        let p = try policies(policy, fn)
        let bytes = [UInt8](UnsafeRawBufferPointer(start: data, count: size))
        let img = try ImageCodec.decode(bytes, source: "<memory>", maxPixels: h.classifier.maxPixels)
        let (s, fused) = try h.classifier.scoreWithMetadata([img], claimed: [c], policy: p.conflict)[0]
        out.pointee = robust_conflict(verdict: s.verdict!.rawValue, image_class: Int32(s.predicted),
                                      image_name: UnsafePointer(h.names[s.predicted]), image_confidence: s.confidence,
                                      claimed_class: Int32(c), claimed_probability: s.claimedProbability!,
                                      fused_class: fused.map { Int32($0.predicted) } ?? -1)
        return ROBUST_OK
    }
}

@_cdecl("robust_gate")
public func robust_gate(_ model: OpaquePointer?, _ data: UnsafeRawPointer?, _ size: Int, _ claimed: UnsafePointer<CChar>?,
                        _ policy: UnsafePointer<robust_policy>?, _ out: UnsafeMutablePointer<robust_gate_result>?) -> Int32 {
    let fn = "robust_gate"
    return guarded {
        let h = try ModelHandle.from(model, fn)
        guard let data else { throw invalid(fn, "data is NULL") }
        guard let out else { throw invalid(fn, "out is NULL") }
        let c = try claimed.map { try h.classifier.classIndex(String(cString: $0)) }
        let p = try policies(policy, fn)
        let bytes = [UInt8](UnsafeRawBufferPointer(start: data, count: size))
        let g = try h.classifier.gateWithQuality(encoded: bytes, source: "<memory>", claimed: c, policy: p)
        var result = robust_gate_result()
        result.decision = g.decision.rawValue
        result.reasons = g.reasons.rawValue
        result.scored = g.score == nil ? 0 : 1
        if let s = g.score { result.score = cScore(s, h) } else { result.score.claimed_class = ROBUST_NO_CLAIM; result.score.verdict = ROBUST_VERDICT_NONE }
        if let q = g.quality { result.quality_checked = 1; result.quality = cQuality(q, g.qualityFlags) }
        out.pointee = result
        return ROBUST_OK
    }
}
