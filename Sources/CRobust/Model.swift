// Model handles: load, free, describe.
import CRobustABI
import RobustCore

/// What a robust_model* points to: the classifier and the C strings it hands out.
final class ModelHandle {
    let classifier: Classifier
    let names: [UnsafeMutablePointer<CChar>]
    let architecture: UnsafeMutablePointer<CChar>

    init(_ c: Classifier) {
        classifier = c
        names = c.classNames.map(cString)
        architecture = cString(c.info.architecture)
    }

    deinit {
        for p in names { p.deallocate() }
        architecture.deallocate()
    }

    static func from(_ p: OpaquePointer?, _ fn: String) throws -> ModelHandle {
        guard let p else { throw invalid(fn, "model is NULL") }
        return Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }

    func retainedPointer() -> OpaquePointer { OpaquePointer(Unmanaged.passRetained(self).toOpaque()) }
}

@_cdecl("robust_model_load")
public func robust_model_load(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let path = try string(path, "robust_model_load", "path")
        guard let out else { throw invalid("robust_model_load", "out is NULL") }
        out.pointee = ModelHandle(try Classifier(path: path)).retainedPointer()
        return ROBUST_OK
    }
}

@_cdecl("robust_model_load_memory")
public func robust_model_load_memory(_ data: UnsafeRawPointer?, _ size: Int, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        guard let data else { throw invalid("robust_model_load_memory", "data is NULL") }
        guard let out else { throw invalid("robust_model_load_memory", "out is NULL") }
        guard size > 0 else { throw invalid("robust_model_load_memory", "size is 0") }
        let bytes = [UInt8](UnsafeRawBufferPointer(start: data, count: size))
        out.pointee = ModelHandle(try Classifier(bytes: bytes, source: "<memory>")).retainedPointer()
        return ROBUST_OK
    }
}

@_cdecl("robust_model_free")
public func robust_model_free(_ model: OpaquePointer?) {
    guard let model else { return }
    Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(model)).release()
}

@_cdecl("robust_model_get_info")
public func robust_model_get_info(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<robust_model_info>?) -> Int32 {
    guarded {
        let h = try ModelHandle.from(model, "robust_model_get_info")
        guard let out else { throw invalid("robust_model_get_info", "out is NULL") }
        let i = h.classifier.info
        out.pointee = robust_model_info(architecture: UnsafePointer(h.architecture), width: Int32(i.width),
                                        num_classes: Int32(i.classNames.count), input_size: Int32(i.inputSize),
                                        has_metadata: h.classifier.hasMetadata ? 1 : 0)
        return ROBUST_OK
    }
}

@_cdecl("robust_model_class_name")
public func robust_model_class_name(_ model: OpaquePointer?, _ index: Int32) -> UnsafePointer<CChar>? {
    var result: UnsafePointer<CChar>?
    _ = guarded {
        let h = try ModelHandle.from(model, "robust_model_class_name")
        guard h.names.indices.contains(Int(index)) else {
            throw invalid("robust_model_class_name", "index \(index) is not in 0..<\(h.names.count)")
        }
        result = UnsafePointer(h.names[Int(index)])
        return ROBUST_OK
    }
    return result
}

@_cdecl("robust_model_class_index")
public func robust_model_class_index(_ model: OpaquePointer?, _ name: UnsafePointer<CChar>?,
                                     _ out: UnsafeMutablePointer<Int32>?) -> Int32 {
    guarded {
        let h = try ModelHandle.from(model, "robust_model_class_index")
        let n = try string(name, "robust_model_class_index", "name")
        guard let out else { throw invalid("robust_model_class_index", "out_index is NULL") }
        out.pointee = Int32(try h.classifier.classIndex(n))
        return ROBUST_OK
    }
}

@_cdecl("robust_model_set_max_pixels")
public func robust_model_set_max_pixels(_ model: OpaquePointer?, _ maxPixels: UInt64) -> Int32 {
    guarded {
        let h = try ModelHandle.from(model, "robust_model_set_max_pixels")
        guard maxPixels > 0, maxPixels <= UInt64(ImageCodec.maxPixelsLimit) else {
            throw invalid("robust_model_set_max_pixels", "max_pixels must be in 1...\(ImageCodec.maxPixelsLimit)")
        }
        h.classifier.maxPixels = Int(maxPixels)
        return ROBUST_OK
    }
}

@_cdecl("robust_set_num_threads")
public func robust_set_num_threads(_ n: Int32) -> Int32 {
    guarded {
        guard n >= 1 else { throw invalid("robust_set_num_threads", "n must be at least 1, got \(n)") }
        Threads.set(Int(n))
        return ROBUST_OK
    }
}

@_cdecl("robust_get_num_threads")
public func robust_get_num_threads() -> Int32 { Int32(Threads.configured) }

@_cdecl("robust_set_adaptive_workers")
public func robust_set_adaptive_workers(_ on: Int32) -> Int32 {
    WorkerChoice.enabled = on != 0
    return ROBUST_OK
}

@_cdecl("robust_get_adaptive_workers")
public func robust_get_adaptive_workers() -> Int32 { WorkerChoice.enabled ? 1 : 0 }

@_cdecl("robust_blas_split_invariant")
public func robust_blas_split_invariant() -> Int32 { BLAS.splitInvariant ? 1 : 0 }
