import XCTest
@testable import RobustCore

final class SafeTensorsTests: XCTestCase {
    func header(_ json: String, data: [UInt8] = []) -> [UInt8] {
        let h = Array(json.utf8)
        var out: [UInt8] = []
        for i in 0..<8 { out.append(UInt8((UInt64(h.count) >> (8 * UInt64(i))) & 0xFF)) }
        return out + h + data
    }

    func testRoundTrip() throws {
        var w = SafeTensorsWriter()
        w.add("a.weight", shape: [2, 3], floats: [1, -2, 3.5, 0, .greatestFiniteMagnitude, -0.25])
        w.add("b.count", shape: [], int64s: [Int64.max])
        w.add("empty", shape: [0, 4], floats: [])
        w.metadata = ["k": "v \"quoted\" \\ ü"]
        let dir = temporaryDirectory()
        let path = dir + "/t.safetensors"
        try w.write(path)
        let st = try SafeTensors.load(path)
        XCTAssertEqual(st.metadata, ["k": "v \"quoted\" \\ ü"])
        XCTAssertEqual(try st.floats("a.weight"), [1, -2, 3.5, 0, .greatestFiniteMagnitude, -0.25])
        XCTAssertEqual(st.entry("a.weight")?.shape, [2, 3])
        XCTAssertEqual(try st.int64s("b.count"), [Int64.max])
        XCTAssertEqual(st.entry("empty")?.count, 0)
        // header length is a multiple of 8 (alignment, as the reference writer does)
        let bytes = try FileIO.read(path)
        XCTAssertEqual(Int(bytes[0]) % 8, 0)
        XCTAssertFalse(FileIO.exists(path + ".tmp-\(getpid())"))
    }

    func testModelRoundTripKeepsEveryTensor() throws {
        let m = ResNet18(width: 2, numClasses: 3)
        m.initialize(seed: 5)
        m.bn1.runningMean.value[0] = 0.5
        m.bn1.numBatchesTracked.value = 42
        let path = temporaryDirectory() + "/m.safetensors"
        let info = ModelInfo(width: 2, classNames: ["x", "y", "z"], normalization: Normalization(mean: [0.1, 0.2, 0.3], std: [1, 2, 3]))
        try ModelIO.save(m, info: info, to: path)
        let (m2, info2) = try ModelIO.loadResNet(path: path)
        XCTAssertEqual(info2, info)
        for (a, b) in zip(m.parameters, m2.parameters) { XCTAssertEqual(a.value.array, b.value.array, a.name) }
        XCTAssertEqual(m2.bn1.numBatchesTracked.value, 42)
    }

    func testCorruptFilesAreErrorsNotCrashes() throws {
        let good = header(#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8))
        XCTAssertNoThrow(try SafeTensors(bytes: good))
        let cases: [(String, [UInt8])] = [
            ("empty", []),
            ("short", [1, 2, 3]),
            ("header longer than file", [0xFF, 0, 0, 0, 0, 0, 0, 0, 0x7B]),
            ("huge header length", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + Array(repeating: 0, count: 16)),
            ("not json", header("hello")),
            ("json array", header("[1,2]")),
            ("truncated data", Array(good.dropLast(1))),
            ("offsets beyond data", header(#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 8))),
            ("size mismatch", header(#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8))),
            ("reversed offsets", header(#"{"t":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, data: [UInt8](repeating: 0, count: 8))),
            ("negative dim", header(#"{"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8))),
            ("overflowing shape", header(#"{"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8))),
            ("unknown dtype", header(#"{"t":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8))),
            ("missing offsets", header(#"{"t":{"dtype":"F32","shape":[2]}}"#, data: [UInt8](repeating: 0, count: 8))),
            ("duplicate key", header(#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8))),
            ("metadata not strings", header(#"{"__metadata__":{"a":1}}"#)),
            ("deep nesting", header(String(repeating: "[", count: 5000))),
            ("deep nesting in an object", header("{\"a\":" + String(repeating: "[", count: 5000))),
            // One byte over the header limit, and a big array refused without being parsed.
            ("header over the limit", header("{" + String(repeating: " ", count: SafeTensors.maxHeaderBytes))),
            ("array of a million numbers", header("  [" + String(repeating: "0,", count: 1_000_000) + "0]")),
        ]
        for (name, bytes) in cases {
            XCTAssertThrowsError(try SafeTensors(bytes: bytes, source: "case.safetensors"), name) { e in
                XCTAssertTrue("\(e)".hasPrefix("case.safetensors:"), "\(name): \(e)")
            }
        }
    }

    func testModelFileProblemsAreNamed() throws {
        let dir = temporaryDirectory()
        var w = SafeTensorsWriter()
        w.add("conv1.weight", shape: [2, 3, 3, 3], floats: [Float](repeating: 0, count: 54))
        w.add("linear.weight", shape: [10, 16], floats: [Float](repeating: 0, count: 160))
        try w.write(dir + "/partial.safetensors")
        XCTAssertThrowsError(try ModelIO.loadResNet(path: dir + "/partial.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("missing tensor bn1.weight"), "\(e)")
        }
        // A tensor of the wrong shape
        let m = ResNet18(width: 2)
        var w2 = SafeTensorsWriter()
        for p in m.parameters { w2.add(p.name, shape: p.name == "bn1.bias" ? [3] : p.value.shape,
                                       floats: [Float](repeating: 0, count: p.name == "bn1.bias" ? 3 : p.value.count)) }
        try w2.write(dir + "/shape.safetensors")
        XCTAssertThrowsError(try ModelIO.loadResNet(path: dir + "/shape.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("bn1.bias has shape [3], expected [2]"), "\(e)")
        }
        XCTAssertThrowsError(try ModelIO.loadResNet(path: dir + "/absent.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("absent.safetensors"), "\(e)")
        }
    }

    func testHostileArchitectureShapesAreRefusedBeforeAllocating() throws {
        let dir = temporaryDirectory()
        for (name, shape, lin) in [("huge", [4096, 3, 3, 3], [10, 8 * 4096]), ("zero-size", [1 << 39, 0, 3, 3], [10, 0]),
                                   ("wide classes", [2, 3, 3, 3], [1 << 39, 0]), ("wrong stem", [2, 1, 3, 3], [10, 16])] {
            var w = SafeTensorsWriter()
            let n1 = shape.reduce(1, *), n2 = lin.reduce(1, *)
            w.add("conv1.weight", shape: shape, floats: [Float](repeating: 0, count: n1 < 1_000_000 ? n1 : 0))
            w.add("linear.weight", shape: lin, floats: [Float](repeating: 0, count: n2 < 1_000_000 ? n2 : 0))
            if n1 >= 1_000_000 || n2 >= 1_000_000 { continue }  // cannot even be written honestly
            try w.write(dir + "/\(name).safetensors")
            XCTAssertThrowsError(try ModelIO.loadResNet(path: dir + "/\(name).safetensors"), name) { e in
                XCTAssertTrue("\(e)".contains("has shape"), "\(name): \(e)")
            }
        }
    }

    func testBadTrainingConfigsAreRefused() {
        var c = TrainConfig()
        XCTAssertNoThrow(try c.validate())
        c.batchSize = 0
        XCTAssertThrowsError(try c.validate())
        c = TrainConfig(); c.warmupEpochs = .infinity
        XCTAssertThrowsError(try c.validate())
        c = TrainConfig(); c.width = 0
        XCTAssertThrowsError(try c.validate())
        c = TrainConfig(); c.lr = .nan
        XCTAssertThrowsError(try c.validate())
    }

    func testAtomicWriteKeepsOldFileOnFailure() throws {
        let dir = temporaryDirectory()
        let path = dir + "/model.safetensors"
        try FileIO.writeAtomically(path, text: "old")
        // Writing into a folder that does not exist fails and leaves nothing behind.
        XCTAssertThrowsError(try FileIO.writeAtomically(dir + "/nope/model.safetensors", text: "new"))
        XCTAssertEqual(String(decoding: try FileIO.read(path), as: UTF8.self), "old")
    }

    func testFloatSettingsAreWrittenAsTheirDecimal() {
        XCTAssertEqual(JSON.decimal(0.1).serialized, "0.1")
        XCTAssertEqual(JSON.decimal(0.7).serialized, "0.7")
        XCTAssertEqual(JSON.decimal(3).serialized, "3")
        XCTAssertEqual(JSON.double(Double(Float(0.7))).serialized, "0.699999988079071", "the plain conversion this replaces")
    }

    func testJSON() throws {
        let j = try JSON.parse(#" {"a": [1, -2.5e3, true, null, "x\u00e9\n"], "b": {}} "#)
        XCTAssertEqual(j["a"]?.arrayValue?.count, 5)
        XCTAssertEqual(j["a"]?.arrayValue?[1], .double(-2500))
        XCTAssertEqual(j["a"]?.arrayValue?[4], .string("xé\n"))
        XCTAssertEqual(try JSON.parse(j.serialized), j)
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "01x", "\"\\q\"", "\"\u{01}\"", "[1] 2", "\"\\ud800\""] {
            XCTAssertThrowsError(try JSON.parse(bad), bad)
        }
    }
}
