// Fog: a plasma fractal (diamond-square) added and the image renormalized.

enum Plasma {
    /// A size x size (a power of two) height map in [0, 1] by diamond-square on a torus,
    /// as CIFAR-10-C's generator builds it: each new point is the mean of its four
    /// neighbors plus wibble * U(-wibble, wibble), wibble starting at 100 and divided by
    /// `decay` per level (larger decay, smoother fog). `draw()` returns U(-1, 1); points
    /// are filled in row-major order within each step, squares, then diamonds by row,
    /// then diamonds by column.
    static func fractal(size: Int, decay: Double, draw: () -> Double) -> [Double] {
        precondition(size > 0 && size & (size - 1) == 0, "plasma size must be a power of two")
        var m = [Double](repeating: 0, count: size * size)
        var step = size
        var wibble = 100.0
        @inline(__always) func at(_ r: Int, _ c: Int) -> Double { m[((r % size + size) % size) * size + (c % size + size) % size] }
        while step >= 2 {
            let half = step / 2, cells = size / step
            // squares: centers from the four corners around them
            for i in 0..<cells { for j in 0..<cells {
                let r = i * step, c = j * step
                let sum = at(r, c) + at(r + step, c) + at(r, c + step) + at(r + step, c + step)
                m[(r + half) * size + c + half] = sum / 4 + wibble * wibble * draw()
            } }
            // diamonds on the rows of corners: the centers above and below, the corners left and right
            for i in 0..<cells { for j in 0..<cells {
                let r = i * step, c = j * step + half
                let sum = at(r + half, c) + at(r - half, c) + at(r, c - half) + at(r, c + half)
                m[r * size + c] = sum / 4 + wibble * wibble * draw()
            } }
            // diamonds on the columns of corners: the centers left and right, the corners above and below
            for i in 0..<cells { for j in 0..<cells {
                let r = i * step + half, c = j * step
                let sum = at(r, c + half) + at(r, c - half) + at(r - half, c) + at(r + half, c)
                m[r * size + c] = sum / 4 + wibble * wibble * draw()
            } }
            step /= 2
            wibble /= decay
        }
        let lo = m.min()!
        m = m.map { $0 - lo }
        let hi = m.max()!
        return hi > 0 ? m.map { $0 / hi } : m
    }
}

extension FloatImage {
    /// x + strength * plasma, rescaled by max / (max + strength), clipped. `plasma` is a
    /// height x width map in [0, 1].
    public func fogged(strength: Double, plasma: [Double]) -> FloatImage {
        precondition(plasma.count == width * height)
        let peak = Double(pixels.max() ?? 0)
        var out = self
        for i in 0..<(width * height) { for c in 0..<3 {
            let v = (Double(pixels[3 * i + c]) + strength * plasma[i]) * peak / (peak + strength)
            out.pixels[3 * i + c] = Float(min(max(v, 0), 1))
        } }
        return out
    }

    /// The plasma map for this image's size: the smallest power-of-two square that covers
    /// it, top-left part.
    static func plasma(width: Int, height: Int, decay: Double, draw: () -> Double) -> [Double] {
        var size = 1
        while size < max(width, height) { size *= 2 }
        let full = Plasma.fractal(size: size, decay: decay, draw: draw)
        var out = [Double](repeating: 0, count: width * height)
        for y in 0..<height { for x in 0..<width { out[y * width + x] = full[y * size + x] } }
        return out
    }
}
