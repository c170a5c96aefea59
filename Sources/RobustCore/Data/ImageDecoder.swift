// Decoding PNG/JPEG bytes through the C layer (libpng, libjpeg), and resizing.
import CImageIO

public struct RGBImage: Sendable {
    public var width: Int, height: Int
    public var pixels: [UInt8] // HWC
    public init(width: Int, height: Int, pixels: [UInt8]) { self.width = width; self.height = height; self.pixels = pixels }
}

public enum ImageCodec {
    /// Images above this many pixels are refused (decompression bombs). 64 megapixels.
    public static let defaultMaxPixels = 1 << 26

    /// The largest cap a caller may set: 268 megapixels (805 MB of pixels). Pixels go into a
    /// Swift array, whose allocation cannot fail gracefully, so no request may be unbounded.
    public static let maxPixelsLimit = 1 << 28

    public static func decode(_ bytes: [UInt8], source: String, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        let maxPixels = maxPixels <= 0 ? defaultMaxPixels : min(maxPixels, maxPixelsLimit)
        var w: Int32 = 0, h: Int32 = 0
        var msg = [CChar](repeating: 0, count: 256)
        func fail(_ rc: Int32) -> RobustError {
            let text = msg.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            return RobustError.decode(path: source, reason: text.isEmpty ? "error \(rc)" : text)
        }
        // Probe the header, then decode straight into the array the image keeps: peak memory
        // is the encoded bytes plus one copy of the pixels (3 bytes each), not two.
        var rc = bytes.withUnsafeBufferPointer { b in
            robust_image_probe(b.baseAddress, b.count, maxPixels, &w, &h, &msg, msg.count)
        }
        guard rc == 0 else { throw fail(rc) }
        let n = Int(w) * Int(h) * 3
        let pixels = [UInt8](unsafeUninitializedCapacity: n) { buf, count in
            rc = bytes.withUnsafeBufferPointer { b in
                robust_image_decode_into(b.baseAddress, b.count, maxPixels, buf.baseAddress, w, h, &msg, msg.count)
            }
            if rc != 0 { buf.initialize(repeating: 0) }   // the array must be initialized either way
            count = n
        }
        guard rc == 0 else { throw fail(rc) }
        return RGBImage(width: Int(w), height: Int(h), pixels: pixels)
    }

    public static func decodeFile(_ path: String, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        // A compressed image is far smaller than its pixels; cap what is read at 256 MiB.
        try decode(FileIO.read(path, limit: 256 << 20), source: path, maxPixels: maxPixels)
    }

    public static func encodePNG(_ img: RGBImage) throws -> [UInt8] {
        try encode(img) { p, s, m in robust_png_encode(img.pixels, Int32(img.width), Int32(img.height), p, s, m, 256) }
    }

    public static func encodeJPEG(_ img: RGBImage, quality: Int = 90) throws -> [UInt8] {
        try encode(img) { p, s, m in
            robust_jpeg_encode(img.pixels, Int32(img.width), Int32(img.height), Int32(quality), p, s, m, 256)
        }
    }

    private static func encode(_ img: RGBImage,
                               _ call: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int>, UnsafeMutablePointer<CChar>) -> Int32) throws -> [UInt8] {
        guard img.pixels.count == img.width * img.height * 3, img.width > 0, img.height > 0 else {
            throw RobustError.invalidArgument("image buffer does not match \(img.width)x\(img.height)x3")
        }
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var msg = [CChar](repeating: 0, count: 256)
        let rc = msg.withUnsafeMutableBufferPointer { call(&out, &size, $0.baseAddress!) }
        guard rc == 0, let out else {
            throw RobustError.invalidArgument("encode failed: " + msg.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        defer { robust_imageio_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }
}
