import XCTest
@testable import RobustCore

final class TrainingTests: XCTestCase {
    func config() -> TrainConfig {
        var c = TrainConfig()
        c.width = 4; c.epochs = 3; c.batchSize = 32; c.lr = 0.05; c.seed = 3
        return c
    }

    func testLossFallsOnGeneratedData() {
        let train = syntheticDataset(count: 256), test = syntheticDataset(count: 64, seed: 99)
        var cfg = config()
        cfg.epochs = 5
        let t = Trainer(config: cfg, train: train, test: test)
        var logs: [EpochLog] = []
        while !t.isFinished { logs.append(t.runEpoch()) }
        XCTAssertLessThan(logs.last!.trainLoss, logs.first!.trainLoss * 0.7, "\(logs.map(\.trainLoss))")
        XCTAssertGreaterThan(logs.last!.testAccuracy!, 0.5)
    }

    func testSameSeedSameRunAndResumeIsExact() throws {
        let train = syntheticDataset(count: 96)
        let a = Trainer(config: config(), train: train, test: nil)
        while !a.isFinished { _ = a.runEpoch() }

        let dir = temporaryDirectory()
        let b = Trainer(config: config(), train: train, test: nil)
        _ = b.runEpoch()
        try b.saveCheckpoint(dir + "/ck.safetensors")
        let c = try Trainer.resume(from: dir + "/ck.safetensors", train: train, test: nil)
        XCTAssertEqual(c.epoch, 1)
        XCTAssertEqual(c.step, b.step)
        while !c.isFinished { _ = c.runEpoch() }
        for (p, q) in zip(a.model.parameters, c.model.parameters) {
            XCTAssertEqual(p.value.array, q.value.array, p.name)
        }
    }

    func testScheduleWarmupAndCosine() {
        let s = CosineSchedule(baseLR: 0.1, totalSteps: 110, warmupSteps: 10)
        XCTAssertEqual(s.lr(at: 0), 0.01, accuracy: 1e-7)
        XCTAssertEqual(s.lr(at: 9), 0.1, accuracy: 1e-7)
        XCTAssertEqual(s.lr(at: 10), 0.1, accuracy: 1e-7)
        XCTAssertEqual(s.lr(at: 60), 0.05, accuracy: 1e-6)
        XCTAssertEqual(s.lr(at: 110), 0, accuracy: 1e-7)
    }
}
