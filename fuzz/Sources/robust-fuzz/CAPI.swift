// The C ABI's byte-taking entry points, called as a C caller would. The first input byte picks
// the function, the rest is its input. Whatever the bytes, each call must return a status:
// ROBUST_ERR_INTERNAL (an error path robust did not foresee) is treated as a crash.
import CRobust
import CRobustABI
#if canImport(Glibc)
import Glibc
#endif

/// One model for the whole run (loading it per input would drown the fuzzer): ROBUST_FUZZ_MODEL.
nonisolated(unsafe) let fuzzModel: OpaquePointer? = {
    guard let p = getenv("ROBUST_FUZZ_MODEL") else { return nil }
    var m: OpaquePointer?
    guard robust_model_load(p, &m) == ROBUST_OK else {
        fputs("ROBUST_FUZZ_MODEL: \(String(cString: robust_last_error()))\n", stderr); exit(2)
    }
    _ = robust_model_set_max_pixels(m, 1 << 16)   // small images keep each run fast
    return m
}()

func expectStatus(_ s: Int32, _ fn: String) {
    if s == ROBUST_ERR_INTERNAL || s < 0 || s > ROBUST_ERR_INTERNAL {
        fputs("\(fn) returned \(s): \(String(cString: robust_last_error()))\n", stderr)
        abort()
    }
}

/// Splits "claim\0rest": a claim string of at most 16 bytes, or NULL when there is no NUL.
func splitClaim(_ b: [UInt8]) -> (claim: [CChar]?, rest: [UInt8]) {
    guard let z = b.prefix(17).firstIndex(of: 0) else { return (nil, b) }
    return (b[..<z].map { CChar(bitPattern: $0) } + [0], Array(b[(z + 1)...]))
}

func fuzzCAPI(_ bytes: [UInt8]) {
    guard let op = bytes.first else { return }
    let b = Array(bytes.dropFirst())
    let m = fuzzModel
    var score = robust_score()
    var probs = [Float](repeating: 0, count: 16)
    switch op % 8 {
    case 0:
        var h: OpaquePointer?
        let s = robust_model_load_memory(b, b.count, &h)
        expectStatus(s, "robust_model_load_memory")
        if s == ROBUST_OK {
            var info = robust_model_info()
            expectStatus(robust_model_get_info(h, &info), "robust_model_get_info")
            _ = robust_model_class_name(h, 0)
            robust_model_free(h)
        }
    case 1:
        let claimed = b.isEmpty ? ROBUST_NO_CLAIM : Int32(Int8(bitPattern: b[0]))
        expectStatus(robust_score_encoded(m, b, b.count, claimed, nil, &score, &probs, probs.count),
                     "robust_score_encoded")
    case 2:
        var q = robust_quality()
        expectStatus(robust_quality_encoded(b, b.count, 1 << 16, nil, &q), "robust_quality_encoded")
    case 3:
        let (claim, rest) = splitClaim(b)
        var c = robust_conflict()
        expectStatus(robust_check_conflict(m, rest, rest.count, claim, nil, &c), "robust_check_conflict")
    case 4:
        let (claim, rest) = splitClaim(b)
        var g = robust_gate_result()
        expectStatus(robust_gate(m, rest, rest.count, claim, nil, &g), "robust_gate")
    case 5, 7:
        // Raw pixels: the sizes come from the input, the buffer always holds what they promise
        // (a C caller who lies about the buffer is outside any API's reach).
        guard b.count >= 5 else { return }
        let w = Int(b[0] % 64) + 1, h = Int(b[1] % 64) + 1, count = Int(b[2] % 4) + 1
        let stride = op % 8 == 5 ? w * 3 + Int(b[3] % 4) : w * 3
        let px = Array(b.dropFirst(4))
        let need = op % 8 == 5 ? (h - 1) * stride + w * 3 : count * h * w * 3
        guard px.count >= need else { return }
        let claimed = Int32(Int8(bitPattern: b[3]))
        if op % 8 == 5 {
            expectStatus(robust_score_rgb(m, px, Int32(w), Int32(h), stride, claimed, nil, &score, &probs, probs.count),
                         "robust_score_rgb")
            var q = robust_quality()
            expectStatus(robust_quality_rgb(px, Int32(w), Int32(h), stride, nil, &q), "robust_quality_rgb")
        } else {
            var out = [robust_score](repeating: robust_score(), count: count)
            var claims = [Int32](repeating: claimed, count: count)
            var all = [Float](repeating: 0, count: count * 16)
            expectStatus(robust_score_rgb_batch(m, px, Int32(count), Int32(w), Int32(h), &claims, nil, &out,
                                                &all, all.count), "robust_score_rgb_batch")
        }
    default:
        let n = b.count / 4
        var f = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var bits: UInt32 = 0
            for k in 0..<4 { bits |= UInt32(b[4 * i + k]) << UInt32(8 * k) }
            f[i] = Float(bitPattern: bits)
        }
        var nats: Float = 0, norm: Float = 0
        expectStatus(robust_entropy(f, n, &nats, &norm), "robust_entropy")
    }
}
