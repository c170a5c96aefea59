// Digital corruptions: contrast, brightness, saturation, JPEG compression, pixelation.

extension FloatImage {
    /// (x - mean) * factor + mean, the mean per channel over the image.
    public func contrastScaled(_ factor: Float) -> FloatImage {
        var means = [Double](repeating: 0, count: 3)
        for i in 0..<(width * height) { for c in 0..<3 { means[c] += Double(pixels[3 * i + c]) } }
        let m = means.map { Float($0 / Double(max(width * height, 1))) }
        var out = self
        for i in 0..<(width * height) { for c in 0..<3 {
            out.pixels[3 * i + c] = min(max((pixels[3 * i + c] - m[c]) * factor + m[c], 0), 1)
        } }
        return out
    }

    /// HSV value raised by `delta` (clipped), as skimage's color conversions compute it.
    public func brightened(_ delta: Double) -> FloatImage {
        var out = mappingHSV { _, _, v in v = min(max(v + delta, 0), 1) }
        out.clip()
        return out
    }

    /// HSV saturation s -> clip(s * scale + shift).
    public func saturated(scale: Double, shift: Double) -> FloatImage {
        var out = mappingHSV { _, s, _ in s = min(max(s * scale + shift, 0), 1) }
        out.clip()
        return out
    }

    /// Encoded as JPEG at `quality` through libjpeg (4:2:0 chroma, as Pillow's default) and decoded.
    public func jpegCompressed(quality: Int) throws -> FloatImage {
        let img = rgb
        let bytes = try ImageCodec.encodeJPEG(img, quality: quality)
        return FloatImage(try ImageCodec.decode(bytes, source: "jpeg_compression(quality \(quality))"))
    }

    /// Shrunk to `factor` of its size and enlarged back, both with Pillow's BOX filter on 8 bits.
    public func pixelated(_ factor: Double) -> FloatImage {
        let w = max(1, Int(Double(width) * factor)), h = max(1, Int(Double(height) * factor))
        let small = ImageCodec.resize(rgb, width: w, height: h, filter: .box)
        return FloatImage(ImageCodec.resize(small, width: width, height: height, filter: .box))
    }
}
