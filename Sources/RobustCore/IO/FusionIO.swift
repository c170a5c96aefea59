// FusionNet files: safetensors with the PyTorch names of a module holding image_encoder (a
// CIFAR ResNet-18 without its linear layer), meta_encoder (Sequential: Linear, ReLU, Linear,
// ReLU) and head, and metadata that says so.

public struct FusionInfo: Sendable, Equatable {
    public static let architecture = "fusionnet-cifar"
    public var image: ModelInfo
    public var hidden: Int

    public init(width: Int, classNames: [String], hidden: Int = 64, normalization: Normalization = .cifar10) {
        image = ModelInfo(width: width, classNames: classNames, normalization: normalization)
        self.hidden = hidden
    }

    var metadata: [String: String] {
        var m = image.metadata
        m["architecture"] = FusionInfo.architecture
        m["meta_hidden"] = String(hidden)
        m["meta_input"] = "one-hot class + missing token (index num_classes)"
        return m
    }

    static func from(_ st: SafeTensors) throws -> FusionInfo {
        func bad(_ why: String) -> RobustError { .format(path: st.source, reason: why) }
        guard st.metadata["architecture"] == FusionInfo.architecture else {
            throw bad("architecture \(st.metadata["architecture"] ?? "(none)") is not \(FusionInfo.architecture)")
        }
        guard let conv1 = st.entry("image_encoder.conv1.weight"), conv1.shape.count == 4,
              (1...ModelInfo.maxWidth).contains(conv1.shape[0]), conv1.shape == [conv1.shape[0], 3, 3, 3] else {
            throw bad("image_encoder.conv1.weight is missing or not [w, 3, 3, 3]")
        }
        let width = conv1.shape[0]
        guard let head = st.entry("head.weight"), head.shape.count == 2, (1...ModelInfo.maxClasses).contains(head.shape[0]) else {
            throw bad("head.weight is missing or not [classes, features]")
        }
        let k = head.shape[0], hidden = head.shape[1] - 8 * width
        guard (1...65536).contains(hidden), st.entry("meta_encoder.0.weight")?.shape == [hidden, k + 1] else {
            throw bad("meta_encoder.0.weight must be [\(max(hidden, 0)), \(k + 1)] for head.weight \(head.shape)")
        }
        var names = k == 10 ? cifar10ClassNames : (0..<k).map { "class\($0)" }
        if let s = st.metadata["class_names"] {
            guard let a = (try? JSON.parse(s))?.arrayValue, a.count == k, a.allSatisfy({ $0.stringValue != nil }) else {
                throw bad("class_names metadata does not list \(k) names")
            }
            names = a.map { $0.stringValue! }
        }
        var info = FusionInfo(width: width, classNames: names, hidden: hidden)
        if let s = st.metadata["input_size"], let v = Int(s), v > 0 { info.image.inputSize = v }
        return info
    }
}

extension ModelIO {
    public static func save(_ net: FusionNet, info: FusionInfo, to path: String) throws {
        var w = SafeTensorsWriter()
        for p in net.parameters { w.add(FusionNet.savedName(p, in: net), tensor: p.value) }
        for c in net.counters { w.add("image_encoder." + c.name, shape: [], int64s: [c.value]) }
        w.metadata = info.metadata
        try w.write(path)
    }

    public static func loadFusion(_ st: SafeTensors) throws -> (FusionNet, FusionInfo) {
        let info = try FusionInfo.from(st)
        let net = FusionNet(width: info.image.width, numClasses: info.image.classNames.count, hidden: info.hidden)
        try assign(st, to: net, parameterName: { FusionNet.savedName($0, in: net) }, counterPrefix: "image_encoder.",
                   checkedPrefix: "", ignoringPrefixes: [])
        return (net, info)
    }

    public static func loadFusion(path: String) throws -> (FusionNet, FusionInfo) { try loadFusion(SafeTensors.load(path)) }
}
