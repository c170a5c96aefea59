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
    public func lr(at t: Int) -> Float { lr(at: Double(t)) }

    /// Learning rate at a fractional schedule position (a stretched schedule, see
    /// Trainer.replaceTrainingSet).
    public func lr(at t: Double) -> Float {
        if t < Double(warmupSteps) { return baseLR * Float((t + 1) / Double(warmupSteps)) }
        let span = max(totalSteps - warmupSteps, 1)
        let progress = min(max((t - Double(warmupSteps)) / Double(span), 0), 1)
        return baseLR * Float(0.5 * (1 + cos(Double.pi * progress)))
    }
}
