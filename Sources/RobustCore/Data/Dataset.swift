// A labeled image set held in memory as 8-bit RGB (HWC per image), decoded once.

public struct Dataset: Sendable {
    public var height: Int, width: Int
    /// count * height * width * 3 bytes, image after image, HWC.
    public var pixels: [UInt8]
    public var labels: [Int32]
    public var classNames: [String]
    /// Source of each image (file path, or "file#record" for CIFAR binaries).
    public var sources: [String]

    public init(height: Int, width: Int, pixels: [UInt8] = [], labels: [Int32] = [], classNames: [String], sources: [String] = []) {
        self.height = height; self.width = width
        self.pixels = pixels; self.labels = labels
        self.classNames = classNames; self.sources = sources
    }

    public var count: Int { labels.count }
    public var imageBytes: Int { height * width * 3 }

    /// A subset in the given order.
    public func subset(_ indices: [Int]) -> Dataset {
        var d = Dataset(height: height, width: width, classNames: classNames)
        d.pixels.reserveCapacity(indices.count * imageBytes)
        for i in indices {
            d.pixels.append(contentsOf: pixels[i * imageBytes ..< (i + 1) * imageBytes])
            d.labels.append(labels[i])
            d.sources.append(i < sources.count ? sources[i] : "#\(i)")
        }
        return d
    }
}

/// Per-channel normalization applied to [0,1] pixels: (x - mean) / std.
public struct Normalization: Sendable, Equatable {
    public var mean: [Float]
    public var std: [Float]
    public init(mean: [Float], std: [Float]) { self.mean = mean; self.std = std }
    /// CIFAR-10's statistics, also the default for a weights file that records none.
    public static let cifar10 = Normalization(mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616])
}

/// The ten CIFAR-10 classes in the dataset's own label order.
public let cifar10ClassNames = ["airplane", "automobile", "bird", "cat", "deer",
                                "dog", "frog", "horse", "ship", "truck"]
