// One fuzzing binary, several targets: ROBUST_FUZZ_TARGET picks the parser that gets the
// bytes. Every input must end in a value or a thrown RobustError; anything else (a trap, an
// address-sanitizer report, a hang) is a bug libFuzzer records.
import RobustCore
#if canImport(Glibc)
import Glibc
#endif

enum Target: String, CaseIterable {
    case safetensors, image, cifar, capi
}

let target: Target = {
    guard let e = getenv("ROBUST_FUZZ_TARGET"), let t = Target(rawValue: String(cString: e)) else {
        let names = Target.allCases.map(\.rawValue).joined(separator: ", ")
        fputs("set ROBUST_FUZZ_TARGET to one of: \(names)\n", stderr)
        exit(2)
    }
    return t
}()

// libFuzzer's own main (linked in, though SwiftPM's entry point replaces it) refers to this name.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data!, count: size)) : []
    switch target {
    case .safetensors:
        if let st = try? SafeTensors(bytes: bytes, source: "<fuzz>") {
            _ = try? ModelIO.loadResNet(st)
            _ = try? ModelIO.loadFusion(st)
        }
    case .image:
        // A small pixel cap keeps each run fast; the cap check itself is part of what is fuzzed.
        if let img = try? ImageCodec.decode(bytes, source: "<fuzz>", maxPixels: 1 << 16) {
            _ = ImageCodec.resize(img, width: 32, height: 32)
        }
    case .cifar:
        _ = try? CIFARBinary.parse(bytes, source: "<fuzz>")
    case .capi:
        fuzzCAPI(bytes)
    }
    return 0
}

// SwiftPM links its own entry point into an executable, so libFuzzer's main never runs:
// hand our arguments and the harness to libFuzzer's driver instead.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

_ = target   // fail fast on a missing or unknown ROBUST_FUZZ_TARGET
if target == .capi && fuzzModel == nil { fputs("set ROBUST_FUZZ_MODEL to a model file\n", stderr); exit(2) }
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzzOne($0, $1) })
