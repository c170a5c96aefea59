import XCTest
@testable import RobustCore

/// The report's parts: the HTML page (escaping, base64 thumbnails that decode back to the same
/// pixels), thresholds from the data itself, near-duplicates confirmed by correlation, the
/// planted dataset against its own truth, and fusion training on given claims.
final class ReportTests: XCTestCase {
    func testBase64MatchesRFC4648Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors { XCTAssertEqual(HTML.base64(Array(plain.utf8)), encoded, plain) }
        XCTAssertEqual(HTML.base64([0xFF, 0xFE, 0x00]), "//4A")
        XCTAssertEqual(HTML.base64([0xFB, 0xFF]), "+/8=")
    }

    func testEscapeLeavesNoMarkup() {
        XCTAssertEqual(HTML.escape("<a href='x'>&\"</a>"), "&lt;a href=&apos;x&apos;&gt;&amp;&quot;&lt;/a&gt;")
        XCTAssertEqual(HTML.escape("plain café"), "plain café")
    }

    /// Decodes standard base64 (test-side inverse of HTML.base64).
    func decodeBase64(_ s: String) -> [UInt8] {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = [], acc: UInt32 = 0, bits = 0
        for c in s.utf8 where c != UInt8(ascii: "=") {
            acc = acc << 6 | UInt32(table.firstIndex(of: c)!)
            bits += 6
            if bits >= 8 { bits -= 8; out.append(UInt8((acc >> UInt32(bits)) & 0xFF)) }
        }
        return out
    }

    func testThumbnailIsAnInlinePNGOfTheSamePixels() throws {
        var rng = RNG(seed: 5)
        let img = RGBImage(width: 5, height: 3, pixels: (0..<45).map { _ in UInt8(rng.int(256)) })
        let tag = HTML.thumbnail(img, size: 50, title: "a <b> & c")
        XCTAssertTrue(tag.contains("width='50' height='30'"))
        XCTAssertTrue(tag.contains("title='a &lt;b&gt; &amp; c'"))
        let start = try XCTUnwrap(tag.range(of: "base64,")).upperBound
        let end = try XCTUnwrap(tag[start...].firstIndex(of: "'"))
        let decoded = try ImageCodec.decode(decodeBase64(String(tag[start..<end])), source: "thumbnail")
        XCTAssertEqual(decoded.width, 5); XCTAssertEqual(decoded.height, 3)
        XCTAssertEqual(decoded.pixels, img.pixels)
    }

    func testPageRendersEverySectionWithNavigationAndReadyMark() {
        var page = HTMLPage(title: "t <1>", subtitle: "s")
        page.add(id: "a", title: "First", body: HTML.table(["x", "n"], [["<b>1</b>", "2"]], numeric: [1]))
        page.add(id: "b", title: "Second & last", body: HTML.cards([("3", "things")]))
        let html = page.render()
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains("<title>t &lt;1&gt;</title>"))
        XCTAssertTrue(html.contains("<a href='#a'>First</a> <a href='#b'>Second &amp; last</a>"))
        let a = html.range(of: "<section id='a'>")!, b = html.range(of: "<section id='b'>")!
        XCTAssertLessThan(a.lowerBound, b.lowerBound)
        XCTAssertTrue(html.contains("<td class='num'>2</td>"))
        XCTAssertTrue(html.contains("data-report-ready"))
        // The error hook comes before any other script, so that it sees their errors.
        XCTAssertLessThan(html.range(of: "data-script-errors")!.lowerBound, html.range(of: "querySelectorAll")!.lowerBound)
        XCTAssertEqual(HTML.table([], [["1"]]).contains("<thead>"), false)
    }

    func testThresholdsFromTheDataFlagOnlyFarOutliers() throws {
        var rng = RNG(seed: 9)
        var m: [ImageQuality] = (0..<300).map { _ in
            ImageQuality(detail: 0.01 * Double(cExp(Double(0.15 * rng.normal()))), sharpness: 0, brightness: 0.5 + 0.05 * Double(rng.normal()),
                         contrast: 0.2, entropy: 6 + 0.2 * Double(rng.normal()), hash: rng.next())
        }
        m.append(ImageQuality(detail: 0.08, sharpness: 0, brightness: 0.5, contrast: 0.2, entropy: 6, hash: 1))   // noisy
        m.append(ImageQuality(detail: 0.0008, sharpness: 0, brightness: 0.5, contrast: 0.2, entropy: 6, hash: 2)) // blurred
        m.append(ImageQuality(detail: 0.01, sharpness: 0, brightness: 0.02, contrast: 0.01, entropy: 1, hash: 3)) // dark, flat
        let cal = try QualityCalibration.fromData(m, source: "test")
        let flags = m.map { cal.flags($0) }
        XCTAssertEqual(flags[300], .noisy)
        XCTAssertEqual(flags[301], .blurry)
        XCTAssertEqual(flags[302], [.dark, .lowInformation])
        XCTAssertEqual(flags[..<300].filter { !$0.isEmpty }.count, 0, "a clean image beyond 6 robust sigmas")
        XCTAssertEqual(cal.nearDuplicateCorrelation, 0.95)
        // Round trip through the file format, the new field included.
        let path = temporaryDirectory() + "/cal.json"
        try cal.save(path)
        XCTAssertEqual(try QualityCalibration.load(path), cal)
        XCTAssertThrowsError(try QualityCalibration.fromData(Array(m.prefix(10)), source: "few"))
        // Alike images (a spread of 0) still need a clear difference to be flagged.
        let same = [ImageQuality](repeating: ImageQuality(detail: 0.01, sharpness: 0, brightness: 0.5, contrast: 0.2, entropy: 6, hash: 0), count: 50)
        let flat = try QualityCalibration.fromData(same, source: "alike")
        XCTAssertEqual(flat.flags(ImageQuality(detail: 0.011, sharpness: 0, brightness: 0.52, contrast: 0.2, entropy: 5.9, hash: 0)), [])
        XCTAssertEqual(flat.flags(ImageQuality(detail: 0.05, sharpness: 0, brightness: 0.5, contrast: 0.2, entropy: 6, hash: 0)), .noisy)
    }

    func testFlatImagesAreNearDuplicatesOnlyAtTheSameLevel() {
        let black = [UInt8](repeating: 0, count: 8 * 8 * 3), white = [UInt8](repeating: 255, count: 8 * 8 * 3)
        let nearBlack = [UInt8](repeating: 2, count: 8 * 8 * 3)
        let ds = Dataset(height: 8, width: 8, pixels: black + white + nearBlack, labels: [0, 0, 0], classNames: ["x"])
        XCTAssertEqual(QualityAudit.pixelCorrelation(ds, 0, 1), 0)
        XCTAssertEqual(QualityAudit.pixelCorrelation(ds, 0, 2), 1)
        let d = QualityAudit.duplicates(ds, QualityAudit.measure(ds), maxBits: 10, minCorrelation: 0.95)
        XCTAssertNil(d[1]); XCTAssertEqual(d[2]?.index, 0)
    }

    /// Three images: A; B, A with brightness and contrast changed; C, whose 9 x 8 cell means
    /// (so its difference hash) equal A's but whose pixels inside the cells differ. By hash
    /// alone C repeats A; with the correlation check only B does.
    func testNearDuplicatesNeedCorrelationWhenAsked() {
        let w = 32, h = 32
        var rng = RNG(seed: 2)
        func cell(_ y: Int, _ x: Int) -> Int { min(7, y * 8 / h) * 9 + min(8, x * 9 / w) }
        // Cell levels in a checkerboard 10 apart (every hash bit fixed, and rounding cannot
        // flip one), under a zero-mean pattern per cell that carries most of the variance.
        let level: [Float] = (0..<72).map { (c: Int) -> Float in (c / 9 + c % 9) % 2 == 0 ? 120 : 130 }
        func pattern() -> [Float] {
            var p = (0..<(w * h)).map { _ in rng.uniform(-60, 60) }
            var sum = [Float](repeating: 0, count: 72), n = [Float](repeating: 0, count: 72)
            for y in 0..<h { for x in 0..<w { sum[cell(y, x)] += p[y * w + x]; n[cell(y, x)] += 1 } }
            for y in 0..<h { for x in 0..<w { p[y * w + x] -= sum[cell(y, x)] / n[cell(y, x)] } }
            return p
        }
        func image(_ p: [Float], gain: Float = 1, offset: Float = 0) -> [UInt8] {
            var out: [UInt8] = []
            for y in 0..<h { for x in 0..<w {
                let v = UInt8(max(0, min(255, ((level[cell(y, x)] + p[y * w + x]) * gain + offset).rounded())))
                out += [v, v, v]
            } }
            return out
        }
        let pa = pattern(), pc = pattern()
        let ds = Dataset(height: h, width: w, pixels: image(pa) + image(pa, gain: 0.9, offset: 8) + image(pc),
                         labels: [0, 0, 0], classNames: ["x"])
        let m = QualityAudit.measure(ds)
        XCTAssertEqual(m[0].hash, m[2].hash, "the test's premise: A and C share a hash")
        let hashOnly = QualityAudit.duplicates(ds, m, maxBits: 2)
        XCTAssertEqual(hashOnly[1]?.index, 0); XCTAssertEqual(hashOnly[2]?.index, 0)
        let confirmed = QualityAudit.duplicates(ds, m, maxBits: 2, minCorrelation: 0.95)
        XCTAssertEqual(confirmed[1]?.index, 0); XCTAssertEqual(confirmed[1]?.exact, false)
        XCTAssertNil(confirmed[2], "a hash collision without pixel likeness is not a near-duplicate")
        XCTAssertGreaterThan(QualityAudit.pixelCorrelation(ds, 0, 1), 0.99)
        XCTAssertLessThan(QualityAudit.pixelCorrelation(ds, 0, 2), 0.95)
    }

    func testPlantedDatasetMatchesItsTruth() throws {
        let root = temporaryDirectory("planted")
        let problems = try PlantedData.write(root: root, trainCount: 400, testCount: 50, seed: 3)
        func count(_ k: String) -> Int { problems.filter { $0.problem == k }.count }
        XCTAssertEqual(count("mislabeled"), 32); XCTAssertEqual(count("blurred"), 12); XCTAssertEqual(count("noisy"), 12)
        XCTAssertEqual(count("metadata_conflict"), 20); XCTAssertEqual(count("duplicate"), 4); XCTAssertEqual(count("near_duplicate"), 4)
        XCTAssertEqual(Set(problems.map(\.path)).count, problems.count, "one problem per file")
        let (train, _) = try ImageFolder.load(joinPath(root, "train"), classes: nil, onBadFile: .stop)
        XCTAssertEqual(train.count, 408)  // 400 images and 8 copies
        let metadata = try String(decoding: FileIO.read(joinPath(root, "metadata.csv")), as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(metadata.count, 1 + 408 + 50)
        for p in problems {
            switch p.problem {
            case "mislabeled":
                // Filed under another class than its true one.
                let folder = p.path.split(separator: "/")[1]
                XCTAssertNotEqual("true=" + folder, p.detail)
            case "duplicate":
                XCTAssertEqual(try FileIO.read(joinPath(root, p.path)), try FileIO.read(joinPath(root, String(p.detail.dropFirst(3)))))
            case "near_duplicate":
                let a = try ImageCodec.decodeFile(joinPath(root, p.path)), b = try ImageCodec.decodeFile(joinPath(root, String(p.detail.dropFirst(3))))
                XCTAssertNotEqual(a.pixels, b.pixels)
                let ds = Dataset(height: 32, width: 32, pixels: a.pixels + b.pixels, labels: [0, 0], classNames: ["x"])
                XCTAssertGreaterThan(QualityAudit.pixelCorrelation(ds, 0, 1), 0.99)
            case "metadata_conflict":
                let claim = p.detail.split(separator: " ")[0].dropFirst(6)
                XCTAssertTrue(metadata.contains { $0 == "\(p.path),\(claim)" })
                XCTAssertNotEqual("true=\(claim)", String(p.detail.split(separator: " ")[1]))
            default:
                // Blurred images lose fine detail; noisy ones gain it.
                let q = ImageQuality(try ImageCodec.decodeFile(joinPath(root, p.path)))
                if p.problem == "blurred" { XCTAssertLessThan(q.detail, 0.003, p.path) } else { XCTAssertGreaterThan(q.detail, 0.04, p.path) }
            }
        }
        // Deterministic: the same seed writes the same truth.
        XCTAssertEqual(try PlantedData.write(root: temporaryDirectory("planted2"), trainCount: 400, testCount: 50, seed: 3), problems)
    }

    func testFusionTrainerUsesGivenClaims() throws {
        let ds = SyntheticData.make(count: 20, classes: 4, size: 8)
        var cfg = FusionConfig()
        cfg.train.width = 2; cfg.train.epochs = 1; cfg.train.batchSize = 10
        let tags: [Int32] = (0..<20).map { $0 % 3 == 0 ? FusionNet.missing : Int32(($0 + 1) % 4) }
        let t = try FusionTrainer(config: cfg, train: ds, tags: tags)
        XCTAssertEqual(t.tags, tags)
        t.runEpoch()
        XCTAssertThrowsError(try FusionTrainer(config: cfg, train: ds, tags: Array(tags.prefix(5))))
        XCTAssertThrowsError(try FusionTrainer(config: cfg, train: ds, tags: tags.map { _ in 4 }))
    }
}
