import XCTest
@testable import RobustCore

/// Our ResNet-18 against PyTorch's numbers for the same weights and inputs
/// (fixtures from scripts/torch/make_fixtures.py, float64 reference).
final class TorchCrossCheckTests: XCTestCase {
    var weights: SafeTensors!
    var io: SafeTensors!

    override func setUpWithError() throws {
        weights = try SafeTensors.load(fixturesDir + "/resnet18_w4.safetensors")
        io = try SafeTensors.load(fixturesDir + "/resnet18_w4_io.safetensors")
    }

    func loadModel() throws -> ResNet18 {
        let (m, info) = try ModelIO.loadResNet(weights)
        XCTAssertEqual(info.width, 4)
        XCTAssertEqual(info.classNames, cifar10ClassNames)
        return m
    }

    func input() throws -> (Tensor, [Int32]) {
        let x = try io.floats("input")
        let n = io.entry("input")!.shape[0]
        return (toChannelMajor(x, n: n, c: 3, hw: 1024), try io.int64s("labels").map { Int32($0) })
    }

    func testEvalLogitsMatchPyTorch() throws {
        let m = try loadModel()
        let (x, _) = try input()
        let logits = m.forward(x, mode: .eval).array
        XCTAssertLessThan(relativeError(logits, try io.floats("logits_eval")), 1e-4)
    }

    func testTrainStepMatchesPyTorch() throws {
        let m = try loadModel()
        let (x, y) = try input()
        let logits = m.forward(x, mode: .train)
        XCTAssertLessThan(relativeError(logits.array, try io.floats("logits_train")), 1e-4)
        let ce = SoftmaxCrossEntropy(labelSmoothing: 0.1)
        let r = y.withUnsafeBufferPointer { ce(logits, $0) }
        XCTAssertEqual(r.loss, try io.floats("loss")[0], accuracy: 1e-5)
        m.backward(ce.inputGrad)
        var worst: (String, Float) = ("", 0)
        for p in m.parameters {
            if let g = p.grad {
                let e = relativeError(g.array, try io.floats("grad." + p.name))
                if e > worst.1 { worst = (p.name, e) }
            } else {
                let e = relativeError(p.value.array, try io.floats("running." + p.name))
                if e > worst.1 { worst = (p.name, e) }
            }
        }
        XCTAssertLessThan(worst.1, 1e-4, "worst: \(worst.0)")
        for c in m.counters { XCTAssertEqual(c.value, 1, c.name) }
        let opt = SGD(m.parameters, momentum: 0.9, weightDecay: 5e-4, nesterov: true)
        opt.step(lr: 0.1)
        for p in m.parameters where p.isTrainable {
            XCTAssertLessThan(relativeError(p.value.array, try io.floats("step." + p.name)), 1e-4, p.name)
        }
    }

    func testParameterCountAtWidth64() {
        XCTAssertEqual(ResNet18(width: 64).parameterCount, 11_173_962)
    }

    func testStateDictNamesAreTorchs() throws {
        let m = try loadModel()
        var ours = Set(m.parameters.map(\.name))
        ours.formUnion(m.counters.map(\.name))
        XCTAssertEqual(ours, Set(weights.entries.map(\.name)))
    }
}
