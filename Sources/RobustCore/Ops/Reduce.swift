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

/// sum((p - mean)^2)
@inline(__always)
func sumSquaredDeviation(_ p: UnsafePointer<Float>, _ n: Int, mean: Float) -> Double {
    var total = 0.0
    var i = 0
    let m = SIMD16<Float>(repeating: mean)
    while i < n {
        let end = min(n, i + 4096)
        var acc = SIMD16<Float>.zero
        while i + 16 <= end {
            let d = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self) - m
            acc += d * d
            i += 16
        }
        var s = Double(acc.sum())
        while i < end { let d = p[i] - mean; s += Double(d * d); i += 1 }
        total += s
    }
    return total
}
