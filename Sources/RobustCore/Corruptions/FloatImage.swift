// The working form of an image under corruption: RGB in [0, 1] pixel space, HWC, before
// the network's normalization. Corruptions read and write it; clipping and the return to
// 8 bits happen once, at the end (decode -> [0,1] -> corrupt -> clip -> round -> normalize).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct FloatImage: Sendable, Equatable {
    public var width: Int, height: Int
    /// height * width * 3 values, row after row, RGB interleaved.
    public var pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(pixels.count == width * height * 3, "\(pixels.count) values for \(width)x\(height)x3")
        self.width = width; self.height = height; self.pixels = pixels
    }

    public init(width: Int, height: Int, fill: Float = 0) {
        self.init(width: width, height: height, pixels: [Float](repeating: fill, count: width * height * 3))
    }

    /// 8-bit pixels divided by 255.
    public init(_ img: RGBImage) {
        self.init(width: img.width, height: img.height, pixels: img.pixels.map { Float($0) / 255 })
    }

    /// Clipped to [0, 1] and rounded to 8 bits. (CIFAR-10-C's generator truncated with
    /// np.uint8; rounding is unbiased and differs from it by at most one level.)
    public var rgb: RGBImage { RGBImage(width: width, height: height, pixels: pixels.map(FloatImage.byte)) }

    @inline(__always) static func byte(_ v: Float) -> UInt8 {
        UInt8(min(max(v, 0), 1) * 255 + 0.5)
    }

    public mutating func clip() {
        for i in pixels.indices { pixels[i] = min(max(pixels[i], 0), 1) }
    }

    @inline(__always) public subscript(y: Int, x: Int, c: Int) -> Float {
        get { pixels[(y * width + x) * 3 + c] }
        set { pixels[(y * width + x) * 3 + c] = newValue }
    }

    /// One channel as a plane (height * width).
    func plane(_ c: Int) -> [Float] {
        var p = [Float](repeating: 0, count: width * height)
        for i in 0..<(width * height) { p[i] = pixels[i * 3 + c] }
        return p
    }

    mutating func setPlane(_ c: Int, _ p: [Float]) {
        for i in 0..<(width * height) { pixels[i * 3 + c] = p[i] }
    }
}
