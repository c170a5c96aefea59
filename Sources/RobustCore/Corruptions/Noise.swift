// Pixel noise, per pixel and channel, in [0, 1] space (CIFAR-10-C's noise family; the
// study's Gaussian noise is the first with a free sigma).

extension FloatImage {
    /// x + N(0, sigma^2), then clipped.
    public func addingGaussianNoise(sigma: Float, rng: inout RNG) -> FloatImage {
        var out = self
        for i in out.pixels.indices { out.pixels[i] = min(max(pixels[i] + sigma * rng.normal(), 0), 1) }
        return out
    }

    /// Photon noise: Poisson(x * photons) / photons, then clipped; fewer photons, more noise.
    public func addingShotNoise(photons: Double, rng: inout RNG) -> FloatImage {
        var out = self
        for i in out.pixels.indices {
            out.pixels[i] = min(max(Float(Double(rng.poisson(Double(pixels[i]) * photons)) / photons), 0), 1)
        }
        return out
    }

    /// Salt and pepper (skimage.util.random_noise "s&p"): each value independently, with
    /// probability `amount`, becomes 1 or 0 with equal odds.
    public func addingImpulseNoise(amount: Float, rng: inout RNG) -> FloatImage {
        var out = self
        for i in out.pixels.indices {
            let flipped = rng.uniform() < amount, salt = rng.uniform() < 0.5
            if flipped { out.pixels[i] = salt ? 1 : 0 }
        }
        return out
    }

    /// Multiplicative noise: x + x * N(0, sigma^2), then clipped.
    public func addingSpeckleNoise(sigma: Float, rng: inout RNG) -> FloatImage {
        var out = self
        for i in out.pixels.indices { out.pixels[i] = min(max(pixels[i] + pixels[i] * sigma * rng.normal(), 0), 1) }
        return out
    }
}
