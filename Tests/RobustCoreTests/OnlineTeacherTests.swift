import XCTest
@testable import RobustCore

/// Online distillation: the teacher's probabilities on each augmented batch blended into the
/// targets. What it must do (its share decides how much the labels still count) and must not
/// do (touch the student's pass, or change the teacher).
final class OnlineTeacherTests: XCTestCase {
    func config() -> TrainConfig {
        var cfg = TrainConfig()
        cfg.width = 4; cfg.epochs = 1; cfg.batchSize = 16; cfg.lr = 0.05
        return cfg
    }

    func teacherModel(classes: Int) -> ResNet18 {
        let m = ResNet18(width: 4, numClasses: classes)
        m.initialize(seed: 99)
        return m
    }

    func values(_ m: ResNet18) -> [[Float]] { m.parameters.map { $0.value.array } }

    /// Trains one epoch and returns the student's parameters (trainable ones and batch-norm statistics).
    func trainOnce(_ train: Dataset, teacher: OnlineTeacher?, targets: LabelTargets? = nil) -> [[Float]] {
        let trainer = Trainer(config: config(), train: train, test: nil)
        trainer.targets = targets
        trainer.teacher = teacher
        _ = trainer.runEpoch()
        return values(trainer.model)
    }

    func testBlendMixesTheTeachersProbabilitiesIntoTheRows() {
        let (b, k) = (3, 4)
        let m = teacherModel(classes: k)
        let x = Tensor([3, b, 16, 16])
        var rng = RNG(seed: 4)
        for i in 0..<x.count { x[i] = rng.normal() }
        let logits = m.forward(x, mode: .eval).array
        var p = [Float](repeating: 0, count: b * k)
        logits.withUnsafeBufferPointer { l in p.withUnsafeMutableBufferPointer { softmax(l.baseAddress!, $0.baseAddress!, rows: b, cols: k) } }
        var rows: [Float] = [1, 0, 0, 0, 0, 0, 1, 0, 0.5, 0.5, 0, 0]
        let before = rows
        OnlineTeacher(model: m, weight: 0.25).blend(input: x, into: &rows, classes: k)
        for i in 0..<(b * k) { XCTAssertEqual(rows[i], 0.75 * before[i] + 0.25 * p[i], accuracy: 1e-6, "entry \(i)") }
        for r in 0..<b { XCTAssertEqual(rows[(r * k)..<(r * k + k)].reduce(0, +), 1, accuracy: 1e-5) }
    }

    /// Weight 0: the same run, bit for bit, as without a teacher (its pass must not disturb
    /// the student's), with labels and with soft targets; and the teacher is not trained.
    /// (Bit for bit because the batch, 16, is a power of two: the hard-label loss scales by 1/B,
    /// the rows' loss by 1/sum of weights, equal in floating point only when 1/B is exact.)
    func testZeroWeightLeavesTheRunUnchangedAndTheTeacherFrozen() throws {
        let (train, _) = try noisySyntheticTrainingSet(count: 64, seed: 3, rate: 0.25, noiseSeed: 1)
        let m = teacherModel(classes: 4)
        let teacherBefore = values(m)
        XCTAssertEqual(trainOnce(train, teacher: OnlineTeacher(model: m, weight: 0)), trainOnce(train, teacher: nil))
        var soft = [Float](repeating: 0.1, count: train.count * 4)
        for (i, y) in train.labels.enumerated() { soft[i * 4 + Int(y)] = 0.7 }
        let w = (0..<train.count).map { Float($0 % 3 + 1) / 3 }
        let t = try LabelTargets(values: soft, numClasses: 4, weights: w)
        XCTAssertEqual(trainOnce(train, teacher: OnlineTeacher(model: m, weight: 0), targets: t), trainOnce(train, teacher: nil, targets: t))
        XCTAssertEqual(values(m), teacherBefore, "the teacher's weights or batch-norm statistics changed")
        // The student as its own teacher shares every buffer with it: only a teacher pass that
        // runs before the student's (as blend's contract says) leaves the run unchanged.
        let trainer = Trainer(config: config(), train: train, test: nil)
        trainer.teacher = OnlineTeacher(model: trainer.model, weight: 0)
        _ = trainer.runEpoch()
        XCTAssertEqual(values(trainer.model), trainOnce(train, teacher: nil))
    }

    /// Weight 1: the targets are the teacher's alone, so the labels no longer matter; without a
    /// teacher the same two label sets train different models (the check can fail).
    func testFullWeightMakesTheLabelsIrrelevant() throws {
        let (train, _) = try noisySyntheticTrainingSet(count: 64, seed: 3, rate: 0.25, noiseSeed: 1)
        var other = train
        other.labels = train.labels.map { ($0 + 1) % 4 }
        let m = teacherModel(classes: 4)
        XCTAssertNotEqual(trainOnce(train, teacher: nil), trainOnce(other, teacher: nil))
        XCTAssertEqual(trainOnce(train, teacher: OnlineTeacher(model: m, weight: 1)),
                       trainOnce(other, teacher: OnlineTeacher(model: m, weight: 1)))
        // and half the weight is neither
        let half = trainOnce(train, teacher: OnlineTeacher(model: m, weight: 0.5))
        XCTAssertNotEqual(half, trainOnce(train, teacher: nil))
        XCTAssertNotEqual(half, trainOnce(train, teacher: OnlineTeacher(model: m, weight: 1)))
    }
}
