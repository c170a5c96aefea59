// Thresholds for the quality flags, calibrated on images known to be clean: each flag fires
// on a chosen small share of the calibration images, so "unusual for this dataset" is
// what it means, whatever the camera or the domain. Kept in a small JSON file.

/// Why an image was flagged.
public struct QualityFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let noisy = QualityFlags(rawValue: 1 << 0)
    public static let blurry = QualityFlags(rawValue: 1 << 1)
    public static let dark = QualityFlags(rawValue: 1 << 2)
    public static let light = QualityFlags(rawValue: 1 << 3)
    public static let lowInformation = QualityFlags(rawValue: 1 << 4)
    public static let duplicate = QualityFlags(rawValue: 1 << 5)
    public static let nearDuplicate = QualityFlags(rawValue: 1 << 6)
    /// The model's prediction entropy is unusually high for clean images.
    public static let uncertain = QualityFlags(rawValue: 1 << 7)

    public static let names: [(QualityFlags, String)] = [
        (.noisy, "noisy"), (.blurry, "blurry"), (.dark, "dark"), (.light, "light"), (.lowInformation, "low_information"),
        (.duplicate, "duplicate"), (.nearDuplicate, "near_duplicate"), (.uncertain, "uncertain")]

    /// "noisy+dark", or "" when none.
    public var description: String { QualityFlags.names.filter { contains($0.0) }.map(\.1).joined(separator: "+") }
}

public struct QualityCalibration: Sendable, Equatable {
    /// Flag as noisy above this detail level (the calibration images' upper quantile).
    public var noisyAbove: Double
    /// Flag as blurred below this detail level.
    public var blurryBelow: Double
    public var darkBelow: Double
    public var lightAbove: Double
    /// Flag as low-information below this luminance entropy (bits).
    public var lowInformationBelow: Double
    /// Near-duplicates: difference hashes at most this many bits apart.
    public var nearDuplicateBits: Int
    /// And, when set, pixels (RGB) correlated at least this much (Pearson):
    /// hashes of smooth images collide by chance, so a wider hash radius needs this pixel
    /// check (the hash only picks the candidates). Correlation ignores brightness and
    /// contrast edits, as a near copy should.
    public var nearDuplicateCorrelation: Double?
    /// Flag as uncertain above this model prediction entropy (nats); nil without a model.
    public var uncertainAbove: Double?
    /// Images are measured at imageSize x imageSize (resized as for the model), as the
    /// calibration images were; 0 measures them as they are.
    public var imageSize: Int
    /// How many images, from where, and the share each threshold leaves out.
    public var images: Int
    public var source: String
    public var rates: QualityRates

    public init(noisyAbove: Double, blurryBelow: Double, darkBelow: Double, lightAbove: Double, lowInformationBelow: Double,
                nearDuplicateBits: Int = 2, nearDuplicateCorrelation: Double? = nil, uncertainAbove: Double? = nil,
                imageSize: Int = 32, images: Int, source: String, rates: QualityRates = .init()) {
        self.noisyAbove = noisyAbove; self.blurryBelow = blurryBelow; self.darkBelow = darkBelow; self.lightAbove = lightAbove
        self.lowInformationBelow = lowInformationBelow; self.nearDuplicateBits = nearDuplicateBits
        self.nearDuplicateCorrelation = nearDuplicateCorrelation
        self.uncertainAbove = uncertainAbove; self.imageSize = imageSize; self.images = images; self.source = source
        self.rates = rates
    }

    /// The thresholds calibrated on CIFAR-10's 50,000 training images (JPEG, 32 x 32), as
    /// models/cifar10-quality.json holds them (a test keeps the two equal): the C library's
    /// and the gate's default.
    public static let cifar10 = QualityCalibration(
        noisyAbove: 0.03688167698026316, blurryBelow: 0.004408350697397608, darkBelow: 0.17362625578278168,
        lightAbove: 0.8415599608800565, lowInformationBelow: 4.690890528205189, images: 50000,
        source: "../shared/data/cifar10-jpeg/train", rates: QualityRates())

    /// The measures of one image as this calibration sees it (resized to imageSize first).
    public func measure(_ img: RGBImage) -> ImageQuality {
        guard imageSize > 0, img.width != imageSize || img.height != imageSize else { return ImageQuality(img) }
        return ImageQuality(ImageCodec.resize(img, width: imageSize, height: imageSize))
    }

    /// Per-image flags (duplicates are a dataset-level check: see QualityAudit).
    public func flags(_ q: ImageQuality, modelEntropy: Double? = nil) -> QualityFlags {
        var f: QualityFlags = []
        if q.detail > noisyAbove { f.insert(.noisy) }
        if q.detail < blurryBelow { f.insert(.blurry) }
        if q.brightness < darkBelow { f.insert(.dark) }
        if q.brightness > lightAbove { f.insert(.light) }
        if q.entropy < lowInformationBelow { f.insert(.lowInformation) }
        if let t = uncertainAbove, let e = modelEntropy, e > t { f.insert(.uncertain) }
        return f
    }

    /// Thresholds at the given shares of clean images (`measures`), with the model's
    /// prediction entropies when there is a model.
    public static func calibrate(_ measures: [ImageQuality], modelEntropies: [Double]? = nil, imageSize: Int = 32,
                                 source: String, rates: QualityRates = .init()) throws -> QualityCalibration {
        guard measures.count >= 20 else {
            throw RobustError.invalidArgument("calibration needs at least 20 clean images, got \(measures.count)")
        }
        let detail = measures.map(\.detail).sorted(), bright = measures.map(\.brightness).sorted()
        let ent = measures.map(\.entropy).sorted()
        return QualityCalibration(
            noisyAbove: quantile(detail, 1 - rates.noise), blurryBelow: quantile(detail, rates.blur),
            darkBelow: quantile(bright, rates.exposure), lightAbove: quantile(bright, 1 - rates.exposure),
            lowInformationBelow: quantile(ent, rates.lowInformation),
            uncertainAbove: modelEntropies.map { quantile($0.sorted(), 1 - rates.uncertain) },
            imageSize: imageSize, images: measures.count, source: source, rates: rates)
    }

    /// Thresholds from the images being audited, for data without a clean calibration set:
    /// robust outlier bounds, the median plus or minus `k` robust standard deviations (1.4826
    /// times the median absolute deviation), on the logarithm of the detail level (noise and
    /// blur scale it), on brightness and on luminance entropy. Where `calibrate` flags a fixed
    /// share of images known to be clean, this flags only what lies far outside the bulk of
    /// the data, however many or few images that is (up to nearly half). k = 6: on the planted
    /// dataset (`synth --plant`) no clean image lies beyond it while every planted noisy
    /// (sigma 0.1) and blurred (sigma 1.5) one does; at k = 4, 2% of the clean images did.
    /// Near-duplicates: hashes within 10 bits, confirmed by a pixel correlation of at least 0.95
    /// (planted near copies, a linear edit of every pixel: above 0.99).
    public static func fromData(_ measures: [ImageQuality], k: Double = 6, imageSize: Int = 32,
                                source: String) throws -> QualityCalibration {
        guard measures.count >= 20 else {
            throw RobustError.invalidArgument("thresholds from the data need at least 20 images, got \(measures.count)")
        }
        // The spread has a floor: when most images are alike (a MAD of 0), "outside the bulk"
        // must still mean clearly different, not different at all.
        func bounds(_ v: [Double], floor: Double) -> (Double, Double) {
            let s = v.sorted(), med = quantile(s, 0.5)
            let sigma = max(floor, 1.4826 * quantile(v.map { abs($0 - med) }.sorted(), 0.5))
            return (med - k * sigma, med + k * sigma)
        }
        // Flat images have detail 0: floor the logarithm instead of taking log(0).
        let logDetail = bounds(measures.map { cLog(max($0.detail, 1e-6)) }, floor: 0.05)
        let bright = bounds(measures.map(\.brightness), floor: 0.01), ent = bounds(measures.map(\.entropy), floor: 0.05)
        return QualityCalibration(noisyAbove: cExp(logDetail.1), blurryBelow: cExp(logDetail.0),
                                  darkBelow: max(0, bright.0), lightAbove: min(1, bright.1),
                                  lowInformationBelow: max(0, ent.0), nearDuplicateBits: 10, nearDuplicateCorrelation: 0.95,
                                  imageSize: imageSize, images: measures.count,
                                  source: "robust bounds (median +- \(k) MAD-sigmas) on \(source)")
    }

    /// Linear-interpolated quantile of sorted values (numpy's default).
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let pos = q * Double(sorted.count - 1)
        let i = Int(pos), t = pos - Double(i)
        return i + 1 < sorted.count ? sorted[i] * (1 - t) + sorted[i + 1] * t : sorted[i]
    }
}

/// The share of clean calibration images each flag leaves out. Noise and blur at 1%: on
/// CIFAR-10's test images that still flags 99.9% of those with noise sigma 0.08 or blur sigma 1
/// (2% flagged 100% but doubled the clean images flagged).
public struct QualityRates: Sendable, Equatable {
    public var noise = 0.01, blur = 0.01, exposure = 0.005, lowInformation = 0.005, uncertain = 0.02
    public init() {}
}

extension QualityCalibration {
    public var json: JSON {
        var f: [(String, JSON)] = [
            ("format", .string("robust-quality-calibration")), ("version", .int(1)),
            ("images", .int(Int64(images))), ("source", .string(source)),
            ("noisy_above", .double(noisyAbove)), ("blurry_below", .double(blurryBelow)),
            ("dark_below", .double(darkBelow)), ("light_above", .double(lightAbove)),
            ("low_information_below", .double(lowInformationBelow)), ("near_duplicate_bits", .int(Int64(nearDuplicateBits))), ("image_size", .int(Int64(imageSize))),
            ("rates", .object([("noise", .double(rates.noise)), ("blur", .double(rates.blur)), ("exposure", .double(rates.exposure)),
                               ("low_information", .double(rates.lowInformation)), ("uncertain", .double(rates.uncertain))]))]
        if let u = uncertainAbove { f.append(("uncertain_above", .double(u))) }
        if let c = nearDuplicateCorrelation { f.append(("near_duplicate_correlation", .double(c))) }
        return .object(f)
    }

    public func save(_ path: String) throws { try FileIO.writeAtomically(path, text: json.serialized + "\n") }

    public static func load(_ path: String) throws -> QualityCalibration {
        let j: JSON
        do { j = try JSON.parse(FileIO.read(path, limit: 1 << 20)) } catch let e as JSONError {
            throw RobustError.invalidArgument("\(path): not a quality calibration file (\(e))")
        }
        guard j["format"]?.stringValue == "robust-quality-calibration" else {
            throw RobustError.invalidArgument("\(path): not a quality calibration file (no \"format\": \"robust-quality-calibration\")")
        }
        func num(_ k: String) throws -> Double {
            guard let v = j[k]?.doubleValue, v.isFinite else { throw RobustError.invalidArgument("\(path): missing or bad \"\(k)\"") }
            return v
        }
        var c = QualityCalibration(noisyAbove: try num("noisy_above"), blurryBelow: try num("blurry_below"),
                                   darkBelow: try num("dark_below"), lightAbove: try num("light_above"),
                                   lowInformationBelow: try num("low_information_below"),
                                   nearDuplicateBits: Int(try num("near_duplicate_bits")),
                                   nearDuplicateCorrelation: j["near_duplicate_correlation"]?.doubleValue,
                                   uncertainAbove: j["uncertain_above"]?.doubleValue,
                                   imageSize: Int(j["image_size"]?.doubleValue ?? 32),
                                   images: Int(try num("images")), source: j["source"]?.stringValue ?? "")
        guard c.blurryBelow <= c.noisyAbove, c.darkBelow <= c.lightAbove, (0...64).contains(c.nearDuplicateBits),
              (0...4096).contains(c.imageSize), c.nearDuplicateCorrelation.map({ $0.isFinite && $0 <= 1 }) ?? true else {
            throw RobustError.invalidArgument("\(path): thresholds out of order")
        }
        if let r = j["rates"] {
            c.rates.noise = r["noise"]?.doubleValue ?? c.rates.noise
            c.rates.blur = r["blur"]?.doubleValue ?? c.rates.blur
            c.rates.exposure = r["exposure"]?.doubleValue ?? c.rates.exposure
            c.rates.lowInformation = r["low_information"]?.doubleValue ?? c.rates.lowInformation
            c.rates.uncertain = r["uncertain"]?.doubleValue ?? c.rates.uncertain
        }
        return c
    }
}
