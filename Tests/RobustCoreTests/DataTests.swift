import XCTest
@testable import RobustCore

final class DataTests: XCTestCase {
    func gradient(_ w: Int, _ h: Int, seed: Int) -> RGBImage {
        var px: [UInt8] = []
        for y in 0..<h { for x in 0..<w { px += [UInt8((x * 8 + seed) & 255), UInt8((y * 8) & 255), UInt8((seed * 40) & 255)] } }
        return RGBImage(width: w, height: h, pixels: px)
    }

    func testPNGRoundTripIsExact() throws {
        let img = gradient(32, 32, seed: 3)
        let back = try ImageCodec.decode(try ImageCodec.encodePNG(img), source: "mem.png")
        XCTAssertEqual(back.pixels, img.pixels)
        XCTAssertEqual(back.width, 32)
    }

    /// An 8-bit RGBA PNG written by hand (deflate "stored" blocks, so no zlib is needed).
    func rgbaPNG(_ w: Int, _ h: Int, _ rgba: [UInt8]) -> [UInt8] {
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        func crc32(_ b: [UInt8]) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for x in b { c ^= UInt32(x); for _ in 0..<8 { c = (c >> 1) ^ (0xEDB8_8320 & (0 &- (c & 1))) } }
            return ~c
        }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let td = Array(type.utf8) + data
            return be32(UInt32(data.count)) + td + be32(crc32(td))
        }
        var raw: [UInt8] = []
        for y in 0..<h { raw += [0] + rgba[(y * w * 4)..<((y + 1) * w * 4)] }
        var a: UInt32 = 1, b: UInt32 = 0
        for x in raw { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        let n = UInt16(raw.count)
        let z: [UInt8] = [0x78, 0x01, 1, UInt8(n & 255), UInt8(n >> 8), UInt8(~n & 255), UInt8(~n >> 8)] + raw + be32(b << 16 | a)
        return [137, 80, 78, 71, 13, 10, 26, 10] + chunk("IHDR", be32(UInt32(w)) + be32(UInt32(h)) + [8, 6, 0, 0, 0])
            + chunk("IDAT", z) + chunk("IEND", [])
    }

    func testTransparentPixelsAreCompositedOnBlack() throws {
        // 64 x 64: opaque red in the first pixel, transparent white everywhere else.
        let w = 64, h = 64
        var rgba = [UInt8](repeating: 255, count: w * h * 4)
        for i in 0..<(w * h) { rgba[4 * i + 3] = 0 }
        rgba[0...3] = [255, 0, 0, 255]
        let png = rgbaPNG(w, h, rgba)
        var expected = [UInt8](repeating: 0, count: w * h * 3)
        expected[0] = 255
        for _ in 0..<3 {
            // Dirty the heap with a freed block of the size the pixels need: before the fix,
            // transparent pixels took whatever the new buffer held.
            let garbage = [UInt8](repeating: 0xAB, count: w * h * 3)
            XCTAssertEqual(garbage.count, w * h * 3)
            let img = try ImageCodec.decode(png, source: "rgba.png")
            XCTAssertEqual(img.pixels, expected)
        }
    }

    func testJPEGRoundTripIsClose() throws {
        let img = gradient(40, 24, seed: 1)
        let back = try ImageCodec.decode(try ImageCodec.encodeJPEG(img, quality: 95), source: "mem.jpg")
        XCTAssertEqual(back.width, 40); XCTAssertEqual(back.height, 24)
        let err = zip(back.pixels, img.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +) / img.pixels.count
        XCTAssertLessThan(err, 4)
    }

    func testBadImagesAreErrors() throws {
        let png = try ImageCodec.encodePNG(gradient(8, 8, seed: 0))
        let jpg = try ImageCodec.encodeJPEG(gradient(8, 8, seed: 0))
        let cases: [(String, [UInt8])] = [
            ("empty", []), ("text", Array("hello world".utf8)),
            ("truncated png", Array(png.prefix(40))), ("truncated jpeg", Array(jpg.prefix(30))),
            ("png signature only", Array(png.prefix(8))), ("jpeg marker only", [0xFF, 0xD8, 0xFF]),
        ]
        for (name, bytes) in cases {
            XCTAssertThrowsError(try ImageCodec.decode(bytes, source: name), name) { e in
                XCTAssertTrue("\(e)".hasPrefix(name + ":"), "\(e)")
            }
        }
        // The pixel cap stops a decompression bomb before any pixel memory is taken.
        XCTAssertThrowsError(try ImageCodec.decode(png, source: "cap", maxPixels: 63)) { e in
            XCTAssertTrue("\(e)".contains("more pixels than the allowed maximum"), "\(e)")
        }
    }

    func testImageFolderSkipsOrStopsOnBadFiles() throws {
        let root = temporaryDirectory()
        for (ci, cls) in ["cat", "airplane"].enumerated() {
            try FileIO.makeDirectory(root + "/" + cls)
            for i in 0..<3 {
                let img = gradient(32, 32, seed: ci * 10 + i)
                let bytes = i == 1 ? try ImageCodec.encodeJPEG(img, quality: 100) : try ImageCodec.encodePNG(img)
                try FileIO.writeAtomically("\(root)/\(cls)/\(i).\(i == 1 ? "jpg" : "png")", bytes: bytes)
            }
        }
        try FileIO.writeAtomically(root + "/cat/broken.png", text: "not a png")
        try FileIO.writeAtomically(root + "/cat/notes.txt", text: "ignored: not an image name")
        // a 64x48 image is resized to 32x32
        try FileIO.writeAtomically(root + "/airplane/big.png", bytes: try ImageCodec.encodePNG(gradient(64, 48, seed: 9)))

        let (ds, report) = try ImageFolder.load(root)
        XCTAssertEqual(ds.classNames, ["airplane", "cat"])  // sorted folder names
        XCTAssertEqual(ds.count, 7)
        XCTAssertEqual(report.skipped.count, 1)
        XCTAssertTrue(report.skipped[0].0.hasSuffix("cat/broken.png"))
        XCTAssertTrue(report.summary.contains("broken.png"))
        XCTAssertEqual(ds.labels.filter { $0 == 0 }.count, 4)
        XCTAssertEqual(Array(ds.pixels[0..<(32 * 32 * 3)]), gradient(32, 32, seed: 10).pixels) // airplane/0.png
        XCTAssertThrowsError(try ImageFolder.load(root, onBadFile: .stop)) { e in
            XCTAssertTrue("\(e)".contains("broken.png"), "\(e)")
        }
        // An explicit class list sets the label order.
        let (ds2, _) = try ImageFolder.load(root, classes: ["cat", "airplane"])
        XCTAssertEqual(ds2.labels.first, 0)
        XCTAssertTrue(ds2.sources[0].contains("/cat/"))
        XCTAssertThrowsError(try ImageFolder.load(root + "/missing"))
        XCTAssertThrowsError(try ImageFolder.load(root, classes: ["dog"]))
    }

    func testCIFARBinaryRoundTripAndErrors() throws {
        let ds = syntheticDataset(count: 12, classes: 10)
        let dir = temporaryDirectory()
        try CIFARBinary.write(ds, to: dir + "/test_batch.bin")
        let back = try CIFARBinary.load(directory: dir, train: false)
        XCTAssertEqual(back.pixels, ds.pixels)
        XCTAssertEqual(back.labels, ds.labels)
        XCTAssertEqual(back.classNames, cifar10ClassNames)
        // channel-planar on disk: byte 1 is the red value of pixel 0
        let raw = try FileIO.read(dir + "/test_batch.bin")
        XCTAssertEqual(raw.count, 12 * 3073)
        XCTAssertEqual(raw[1], ds.pixels[0]); XCTAssertEqual(raw[1 + 1024], ds.pixels[1])
        try FileIO.writeAtomically(dir + "/bad.bin", bytes: Array(raw.prefix(3000)))
        XCTAssertThrowsError(try CIFARBinary.load(files: [dir + "/bad.bin"])) { e in
            XCTAssertTrue("\(e)".contains("not a multiple"), "\(e)")
        }
        var badLabel = raw; badLabel[0] = 200
        try FileIO.writeAtomically(dir + "/label.bin", bytes: badLabel)
        XCTAssertThrowsError(try CIFARBinary.load(files: [dir + "/label.bin"]))
        XCTAssertThrowsError(try CIFARBinary.load(directory: dir, train: true)) // no data_batch_1.bin
    }

    func testAugmentationIsSeededAndNormalizes() {
        let ds = syntheticDataset(count: 4)
        let b = Batcher(normalization: .cifar10)
        let t1 = Tensor([0]), t2 = Tensor([0]), plain = Tensor([0])
        var l: [Int32] = []
        b.fill(t1, labels: &l, from: ds, indices: [0, 1, 2, 3][...], augment: Augmentation(), seed: 5, tagBase: 7)
        b.fill(t2, labels: &l, from: ds, indices: [0, 1, 2, 3][...], augment: Augmentation(), seed: 5, tagBase: 7)
        XCTAssertEqual(t1.array, t2.array)
        b.fill(plain, labels: &l, from: ds, indices: [0, 1, 2, 3][...], augment: nil)
        XCTAssertEqual(plain.shape, [3, 4, 32, 32])
        XCTAssertEqual(l, [0, 1, 2, 3])
        // pixel (0,0) of image 0, red channel
        let v = Float(ds.pixels[0]) / 255
        XCTAssertEqual(plain[0], (v - 0.4914) / 0.2470, accuracy: 1e-5)
        XCTAssertNotEqual(t1.array, plain.array)
    }
}
