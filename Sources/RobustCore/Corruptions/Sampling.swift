// Random draws the corruptions need beyond RNG's uniform and normal: double-precision
// uniforms and Poisson counts (shot noise draws one per pixel and channel).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension RNG {
    /// Uniform in [0, 1) with 53 random bits.
    mutating func uniformDouble() -> Double { Double(next() >> 11) * (1.0 / 9007199254740992.0) }

    /// A Poisson(lambda) count. Below lambda 10 by inversion (multiplying uniforms); above it
    /// by Hormann's transformed rejection with squeeze (PTRS, 1993), exact and O(1) per draw:
    /// shot noise at severity 1 needs lambda up to 500 per pixel.
    mutating func poisson(_ lambda: Double) -> Int {
        if lambda <= 0 { return 0 }
        if lambda < 10 {
            let limit = exp(-lambda)
            var k = 0
            var prod = uniformDouble()
            while prod > limit { k += 1; prod *= uniformDouble() }
            return k
        }
        let slam = lambda.squareRoot(), loglam = log(lambda)
        let b = 0.931 + 2.53 * slam
        let a = -0.059 + 0.02483 * b
        let invAlpha = 1.1239 + 1.1328 / (b - 3.4)
        let vr = 0.9277 - 3.6224 / (b - 2)
        while true {
            let u = uniformDouble() - 0.5, v = uniformDouble()
            let us = 0.5 - abs(u)
            let k = floor((2 * a / us + b) * u + lambda + 0.43)
            if us >= 0.07 && v <= vr { return Int(k) }
            if k < 0 || (us < 0.013 && v > us) { continue }
            if log(v) + log(invAlpha) - log(a / (us * us) + b) <= -lambda + k * loglam - lgamma(k + 1) { return Int(k) }
        }
    }
}
