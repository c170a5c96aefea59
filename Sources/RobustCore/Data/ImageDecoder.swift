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

    public static func decode(_ bytes: [UInt8], source: String, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        var out: UnsafeMutablePointer<UInt8>?
        var w: Int32 = 0, h: Int32 = 0
        var msg = [CChar](repeating: 0, count: 256)
        let rc = bytes.withUnsafeBufferPointer { b in
            robust_image_decode(b.baseAddress, b.count, maxPixels, &out, &w, &h, &msg, msg.count)
        }
        guard rc == 0, let out else {
            let text = msg.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw RobustError.decode(path: source, reason: text.isEmpty ? "error \(rc)" : text)
        }
        defer { robust_imageio_free(out) }
        let n = Int(w) * Int(h) * 3
        return RGBImage(width: Int(w), height: Int(h), pixels: Array(UnsafeBufferPointer(start: out, count: n)))
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
