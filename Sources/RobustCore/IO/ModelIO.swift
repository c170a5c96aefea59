// Models as self-describing safetensors files with PyTorch's state_dict names, so a
// file we write loads into PyTorch with load_state_dict(strict=True), and a state_dict
// saved from PyTorch with safetensors.torch.save_file loads here.

public struct ModelInfo: Sendable, Equatable {
    public static let maxWidth = 1024
    public static let maxClasses = 100_000
    public var architecture: String = "resnet18-cifar"
    public var width: Int
    public var classNames: [String]
    public var normalization: Normalization = .cifar10
    public var inputSize: Int = 32

    public init(width: Int, classNames: [String], normalization: Normalization = .cifar10, inputSize: Int = 32) {
        self.width = width; self.classNames = classNames; self.normalization = normalization; self.inputSize = inputSize
    }

    var metadata: [String: String] {
        ["format": "robust/1",
         "architecture": architecture,
         "width": String(width),
         "num_classes": String(classNames.count),
         "input_size": String(inputSize),
         "class_names": JSON.array(classNames.map { .string($0) }).serialized,
         "normalize_mean": JSON.array(normalization.mean.map { .double(Double($0)) }).serialized,
         "normalize_std": JSON.array(normalization.std.map { .double(Double($0)) }).serialized]
    }

    /// Reads what a file records; what it lacks (a file saved by PyTorch) is inferred from
    /// tensor shapes, and normalization defaults to CIFAR-10's.
    static func from(_ st: SafeTensors) throws -> ModelInfo {
        let m = st.metadata
        func bad(_ why: String) -> RobustError { .format(path: st.source, reason: why) }
        if let arch = m["architecture"], arch != "resnet18-cifar" { throw bad("architecture \(arch) is not resnet18-cifar") }
        guard let conv1 = st.entry("conv1.weight"), conv1.shape.count == 4 else { throw bad("missing tensor conv1.weight (not a ResNet-18 file)") }
        guard let lin = st.entry("linear.weight"), lin.shape.count == 2 else { throw bad("missing tensor linear.weight") }
        let width = conv1.shape[0]
        let k = lin.shape[0]
        // Check the architecture's shapes before anything is allocated from them: a hostile
        // file must not make us build a network with a billion channels.
        guard (1...ModelInfo.maxWidth).contains(width), conv1.shape == [width, 3, 3, 3] else {
            throw bad("conv1.weight has shape \(conv1.shape); expected [w, 3, 3, 3] with 1 <= w <= \(ModelInfo.maxWidth)")
        }
        guard (1...ModelInfo.maxClasses).contains(k), lin.shape == [k, 8 * width] else {
            throw bad("linear.weight has shape \(lin.shape); expected [classes, \(8 * width)] with 1 <= classes <= \(ModelInfo.maxClasses)")
        }
        if let w = m["width"], Int(w) != width { throw bad("metadata width \(w) disagrees with conv1.weight \(conv1.shape)") }
        var names = k == 10 ? cifar10ClassNames : (0..<k).map { "class\($0)" }
        if let s = m["class_names"] {
            guard let a = (try? JSON.parse(s))?.arrayValue, a.count == k else { throw bad("class_names metadata does not list \(k) names") }
            names = try a.map { guard let x = $0.stringValue else { throw bad("class_names must be strings") }; return x }
        }
        var info = ModelInfo(width: width, classNames: names)
        if let ms = m["normalize_mean"], let ss = m["normalize_std"] {
            guard let a = (try? JSON.parse(ms))?.arrayValue, let b = (try? JSON.parse(ss))?.arrayValue,
                  a.count == 3, b.count == 3 else { throw bad("normalize_mean/normalize_std must be 3 numbers each") }
            let mean = a.compactMap { $0.doubleValue }.map(Float.init), std = b.compactMap { $0.doubleValue }.map(Float.init)
            guard mean.count == 3, std.count == 3, std.allSatisfy({ $0 > 0 }) else { throw bad("bad normalization metadata") }
            info.normalization = Normalization(mean: mean, std: std)
        }
        if let s = m["input_size"], let v = Int(s), v > 0 { info.inputSize = v }
        return info
    }
}

public enum ModelIO {
    /// Adds a module's parameters, buffers and counters to a writer.
    public static func add(_ module: Module, to w: inout SafeTensorsWriter, prefix: String = "") {
        for p in module.parameters { w.add(prefix + p.name, tensor: p.value) }
        for c in module.counters { w.add(prefix + c.name, shape: [], int64s: [c.value]) }
    }

    public static func save(_ model: ResNet18, info: ModelInfo, to path: String, extra: [String: String] = [:]) throws {
        var w = SafeTensorsWriter()
        add(model, to: &w)
        w.metadata = info.metadata.merging(extra) { a, _ in a }
        try w.write(path)
    }

    /// Copies tensors by name into a module, checking every shape. Names in the file that
    /// the module lacks are errors, except those under `ignoringPrefixes` (optimizer state).
    public static func assign(_ st: SafeTensors, to module: Module, prefix: String = "",
                              ignoringPrefixes: [String] = ["optimizer."]) throws {
        try assign(st, to: module, parameterName: { prefix + $0.name }, counterPrefix: prefix,
                   checkedPrefix: prefix, ignoringPrefixes: ignoringPrefixes)
    }

    /// The same with each parameter's file name given by `parameterName` (FusionNet's
    /// branches carry different prefixes); counters are named counterPrefix + name. Unexpected
    /// tensors are errors where they start with `checkedPrefix` ("" checks all).
    static func assign(_ st: SafeTensors, to module: Module, parameterName: (Parameter) -> String, counterPrefix: String,
                       checkedPrefix: String, ignoringPrefixes: [String]) throws {
        let prefix = checkedPrefix
        var expected = Set<String>()
        for p in module.parameters {
            let name = parameterName(p)
            expected.insert(name)
            guard let e = st.entry(name) else { throw RobustError.format(path: st.source, reason: "missing tensor \(name)") }
            guard e.shape == p.value.shape else {
                throw RobustError.format(path: st.source, reason: "tensor \(name) has shape \(e.shape), expected \(p.value.shape)")
            }
            let v = try st.floats(name)
            v.withUnsafeBufferPointer { p.value.data.update(from: $0.baseAddress!, count: v.count) }
            p.markModified()
        }
        for c in module.counters {
            let name = counterPrefix + c.name
            expected.insert(name)
            // PyTorch always saves num_batches_tracked; tolerate its absence (older exports).
            if st.entry(name) != nil {
                let v = try st.int64s(name)
                guard v.count == 1 else { throw RobustError.format(path: st.source, reason: "tensor \(name) must hold one value") }
                c.value = v[0]
            }
        }
        for e in st.entries where !expected.contains(e.name) && !ignoringPrefixes.contains(where: { e.name.hasPrefix($0) }) {
            if prefix.isEmpty || e.name.hasPrefix(prefix) {
                throw RobustError.format(path: st.source, reason: "unexpected tensor \(e.name)")
            }
        }
    }

    /// Loads a ResNet-18 file (ours or PyTorch's) and the description it carries.
    public static func loadResNet(_ st: SafeTensors) throws -> (ResNet18, ModelInfo) {
        let info = try ModelInfo.from(st)
        let model = ResNet18(width: info.width, numClasses: info.classNames.count)
        try assign(st, to: model)
        return (model, info)
    }

    public static func loadResNet(path: String) throws -> (ResNet18, ModelInfo) {
        try loadResNet(SafeTensors.load(path))
    }
}
