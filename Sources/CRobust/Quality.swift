// Image quality without a model: measures and flags, and the thresholds they use.
import CRobustABI
import RobustCore

/// C thresholds -> a calibration; NULL means the CIFAR-10 defaults.
func calibration(_ t: UnsafePointer<robust_quality_thresholds>?, _ fn: String) throws -> QualityCalibration {
    guard let t = t?.pointee else { return .cifar10 }
    let v = [t.noisy_above, t.blurry_below, t.dark_below, t.light_above, t.low_information_below]
    guard v.allSatisfy(\.isFinite) else { throw invalid(fn, "quality thresholds must be finite") }
    guard t.blurry_below <= t.noisy_above, t.dark_below <= t.light_above else {
        throw invalid(fn, "quality thresholds out of order (blurry_below > noisy_above or dark_below > light_above)")
    }
    guard (0...4096).contains(t.image_size) else { throw invalid(fn, "quality image_size \(t.image_size) is not in 0...4096") }
    return QualityCalibration(noisyAbove: Double(t.noisy_above), blurryBelow: Double(t.blurry_below),
                              darkBelow: Double(t.dark_below), lightAbove: Double(t.light_above),
                              lowInformationBelow: Double(t.low_information_below), imageSize: Int(t.image_size),
                              images: 0, source: "C thresholds")
}

func cThresholds(_ c: QualityCalibration) -> robust_quality_thresholds {
    robust_quality_thresholds(noisy_above: Float(c.noisyAbove), blurry_below: Float(c.blurryBelow),
                              dark_below: Float(c.darkBelow), light_above: Float(c.lightAbove),
                              low_information_below: Float(c.lowInformationBelow), image_size: Int32(c.imageSize))
}

func cQuality(_ q: ImageQuality, _ f: QualityFlags) -> robust_quality {
    // The per-image flags share their bit values with ROBUST_QUALITY_*.
    robust_quality(detail: Float(q.detail), sharpness: Float(q.sharpness), brightness: Float(q.brightness),
                   contrast: Float(q.contrast), entropy_bits: Float(q.entropy), hash: q.hash, flags: f.rawValue & 0x1f)
}

@_cdecl("robust_quality_thresholds_default")
public func robust_quality_thresholds_default(_ out: UnsafeMutablePointer<robust_quality_thresholds>?) {
    out?.pointee = cThresholds(.cifar10)
}

@_cdecl("robust_quality_thresholds_load")
public func robust_quality_thresholds_load(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<robust_quality_thresholds>?) -> Int32 {
    guarded {
        let fn = "robust_quality_thresholds_load"
        let p = try string(path, fn, "path")
        guard let out else { throw invalid(fn, "out is NULL") }
        out.pointee = cThresholds(try QualityCalibration.load(p))
        return ROBUST_OK
    }
}

@_cdecl("robust_quality_encoded")
public func robust_quality_encoded(_ data: UnsafeRawPointer?, _ size: Int, _ maxPixels: UInt64,
                                   _ thresholds: UnsafePointer<robust_quality_thresholds>?,
                                   _ out: UnsafeMutablePointer<robust_quality>?) -> Int32 {
    guarded {
        let fn = "robust_quality_encoded"
        guard let data else { throw invalid(fn, "data is NULL") }
        guard let out else { throw invalid(fn, "out is NULL") }
        guard maxPixels <= UInt64(ImageCodec.maxPixelsLimit) else { throw invalid(fn, "max_pixels must be at most \(ImageCodec.maxPixelsLimit)") }
        let cal = try calibration(thresholds, fn)
        let bytes = [UInt8](UnsafeRawBufferPointer(start: data, count: size))
        let img = try ImageCodec.decode(bytes, source: "<memory>", maxPixels: Int(maxPixels))   // 0: the default cap
        let q = cal.measure(img)
        out.pointee = cQuality(q, cal.flags(q))
        return ROBUST_OK
    }
}

@_cdecl("robust_quality_rgb")
public func robust_quality_rgb(_ rgb: UnsafePointer<UInt8>?, _ width: Int32, _ height: Int32, _ rowStride: Int,
                               _ thresholds: UnsafePointer<robust_quality_thresholds>?,
                               _ out: UnsafeMutablePointer<robust_quality>?) -> Int32 {
    guarded {
        let fn = "robust_quality_rgb"
        guard let rgb else { throw invalid(fn, "rgb is NULL") }
        guard let out else { throw invalid(fn, "out is NULL") }
        guard width > 0, height > 0, Int(width) * Int(height) <= ImageCodec.defaultMaxPixels else {
            throw invalid(fn, "image of \(width)x\(height) (need 1 to \(ImageCodec.defaultMaxPixels) pixels)")
        }
        let w = Int(width), h = Int(height)
        let stride = rowStride == 0 ? w * 3 : rowStride
        guard stride >= w * 3 else { throw invalid(fn, "row_stride \(rowStride) is less than width * 3") }
        let cal = try calibration(thresholds, fn)
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h { for x in 0..<(w * 3) { px[y * w * 3 + x] = rgb[y * stride + x] } }
        let q = cal.measure(RGBImage(width: w, height: h, pixels: px))
        out.pointee = cQuality(q, cal.flags(q))
        return ROBUST_OK
    }
}
