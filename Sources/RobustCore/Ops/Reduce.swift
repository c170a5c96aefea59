// Reductions with enough precision for batch statistics over 100k+ elements:
// 16-wide Float partial sums inside a block, Double across blocks.

@inline(__always)
func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    var total = 0.0
    var i = 0
    while i < n {
        let end = min(n, i + 4096)
        var acc = SIMD16<Float>.zero
        while i + 16 <= end {
            acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
            i += 16
        }
        var s = Double(acc.sum())
        while i < end { s += Double(p[i]); i += 1 }
        total += s
    }
    return total
}

/// sum(p - shift) and sum((p - shift)^2) in one pass. With `shift` near the mean (any sample
/// of the data will do) the variance sum/m - mean^2 does not cancel catastrophically.
@inline(__always)
func shiftedMoments(_ p: UnsafePointer<Float>, _ n: Int, shift: Float) -> (Double, Double) {
    var s1 = 0.0, s2 = 0.0
    var i = 0
    let k = SIMD16<Float>(repeating: shift)
    while i < n {
        let end = min(n, i + 4096)
        var a = SIMD16<Float>.zero, b = SIMD16<Float>.zero
        while i + 16 <= end {
            let d = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self) - k
            a += d
            b += d * d
            i += 16
        }
        var t1 = Double(a.sum()), t2 = Double(b.sum())
        while i < end { let d = Double(p[i] - shift); t1 += d; t2 += d * d; i += 1 }
        s1 += t1; s2 += t2
    }
    return (s1, s2)
}

/// Index of the largest value, relative to the slice's start (the first on ties): the
/// predicted class of one row of probabilities or logits.
public func argmax(_ row: ArraySlice<Float>) -> Int {
    precondition(!row.isEmpty, "argmax of an empty row")
    var best = row.startIndex
    for i in row.indices where row[i] > row[best] { best = i }
    return best - row.startIndex
}

/// The arg max of each row of a row-major matrix `width` wide (the first on ties).
public func rowArgmax(_ m: [Float], width k: Int) -> [Int32] {
    precondition(k > 0 && m.count % k == 0, "rowArgmax: \(m.count) values are not rows of \(k)")
    return stride(from: 0, to: m.count, by: k).map { Int32(argmax(m[$0..<($0 + k)])) }
}
