// Learning-rate schedule, evaluated per optimizer step: optional linear warm-up, then
// cosine annealing from the base rate to zero over the remaining steps.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct CosineSchedule: Sendable {
    public var baseLR: Float
    public var totalSteps: Int
    public var warmupSteps: Int

    public init(baseLR: Float, totalSteps: Int, warmupSteps: Int = 0) {
        self.baseLR = baseLR; self.totalSteps = max(totalSteps, 1); self.warmupSteps = max(warmupSteps, 0)
    }

    /// Learning rate for step t (0-based).
    public func lr(at t: Int) -> Float {
        if t < warmupSteps { return baseLR * Float(t + 1) / Float(warmupSteps) }
        let span = max(totalSteps - warmupSteps, 1)
        let progress = min(Double(t - warmupSteps) / Double(span), 1)
        return baseLR * Float(0.5 * (1 + cos(Double.pi * progress)))
    }
}
