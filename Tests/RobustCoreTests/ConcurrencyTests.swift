import XCTest
import Dispatch
import CRobust
import CRobustABI
@testable import RobustCore

/// The C ABI as a server uses it: one model handle, many threads, good and bad uploads mixed.
/// Run by the test command also under ThreadSanitizer (scripts/tsan-tests.txt).
final class ConcurrencyTests: XCTestCase {
    /// What one input produced: statuses, probabilities, gate decision and this thread's error text.
    struct Outcome: Equatable {
        var scoreStatus: Int32 = -1, gateStatus: Int32 = -1
        var probabilities: [Float] = []
        var decision: Int32 = -1, reasons: UInt32 = 0
        var error = ""
    }

    static func run(_ model: OpaquePointer?, _ bytes: [UInt8], claim: String?) -> Outcome {
        var o = Outcome()
        var s = robust_score()
        var probs = [Float](repeating: 0, count: 10)
        o.scoreStatus = robust_score_encoded(model, bytes, bytes.count, ROBUST_NO_CLAIM, nil, &s, &probs, probs.count)
        // The message must be read before the next call on this thread overwrites it.
        if o.scoreStatus != ROBUST_OK { o.error = String(cString: robust_last_error()) } else { o.probabilities = probs }
        var g = robust_gate_result()
        o.gateStatus = claim.map { robust_gate(model, bytes, bytes.count, $0, nil, &g) }
            ?? robust_gate(model, bytes, bytes.count, nil, nil, &g)
        if o.gateStatus == ROBUST_OK { o.decision = g.decision; o.reasons = g.reasons } else { o.error += String(cString: robust_last_error()) }
        return o
    }

    func testManyThreadsOneHandleBadInputsMixedIn() throws {
        var model: OpaquePointer?
        XCTAssertEqual(robust_model_load(fixturesDir + "/resnet18_w4.safetensors", &model), ROBUST_OK)
        defer { robust_model_free(model) }
        var rng = RNG(seed: 21)
        var inputs: [([UInt8], String?)] = []
        for i in 0..<4 {
            let w = [32, 20, 48, 9][i], h = [32, 30, 16, 9][i]
            let img = RGBImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { _ in UInt8(rng.int(256)) })
            let png = try ImageCodec.encodePNG(img), jpg = try ImageCodec.encodeJPEG(img)
            inputs += [(png, nil), (jpg, "cat"), (Array(png.prefix(png.count / 2)), "1"), (Array(jpg.prefix(40)), nil),
                       (png, "no-such-class")]
        }
        inputs += [([], nil), (Array("not an image".utf8), "dog"), ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0], nil)]
        let reference = inputs.map { Self.run(model, $0.0, claim: $0.1) }
        // Every kind of outcome is present: scored, unscorable (error), gate refusing the claim.
        XCTAssertTrue(reference.contains { $0.scoreStatus == ROBUST_OK })
        XCTAssertTrue(reference.contains { $0.scoreStatus == ROBUST_ERR_IMAGE })
        XCTAssertTrue(reference.contains { $0.gateStatus == ROBUST_ERR_UNKNOWN_CLASS })
        XCTAssertTrue(reference.contains { $0.decision == ROBUST_REJECT && $0.reasons & ROBUST_REASON_UNREADABLE != 0 })

        let threads = 8, rounds = 4
        // One slot per thread, in raw memory: a shared Swift array mutated from several threads
        // is itself a race (ThreadSanitizer reports it).
        let slots = UnsafeMutableBufferPointer<Int>.allocate(capacity: 2 * threads)
        slots.initialize(repeating: 0)
        defer { slots.deallocate() }
        nonisolated(unsafe) let mismatches = UnsafeMutableBufferPointer(rebasing: slots[0..<threads])
        nonisolated(unsafe) let calls = UnsafeMutableBufferPointer(rebasing: slots[threads...])
        let inputsCopy = inputs
        nonisolated(unsafe) let model2 = model   // robust.h: one handle may serve many threads
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var order = Array(0..<inputsCopy.count)
            var r = RNG(seed: UInt64(100 + t))
            for _ in 0..<rounds {
                r.shuffle(&order)
                for i in order {
                    let o = Self.run(model2, inputsCopy[i].0, claim: inputsCopy[i].1)
                    calls[t] += 2
                    if o != reference[i] { mismatches[t] += 1 }
                }
            }
        }
        XCTAssertEqual(Array(mismatches), [Int](repeating: 0, count: threads), "results differ from the single-threaded run")
        XCTAssertEqual(calls.reduce(0, +), threads * rounds * inputs.count * 2)
    }
}
