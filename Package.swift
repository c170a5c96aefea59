// swift-tools-version:6.0
import PackageDescription

// robust: train and run CIFAR-style image classifiers, and audit the data they learn from.
// Compiler flags never go in this manifest (they break `swift test` and every consumer). The self-contained
// librobust.so is built with `swift build -c release --product robust -Xswiftc -static-stdlib`.
let package = Package(
    name: "robust",
    products: [
        .library(name: "robust", type: .dynamic, targets: ["CRobust"]),
        .library(name: "RobustCore", targets: ["RobustCore"]),
        // The C ABI as a Swift module, linked statically: for in-process harnesses (fuzz/).
        .library(name: "CRobustModule", targets: ["CRobust", "CRobustABI"]),
        .executable(name: "audit-cli", targets: ["audit-cli"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries, found through pkg-config (apt: libopenblas-dev libjpeg-dev libpng-dev).
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLibJPEG", path: "Sources/CLibJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg-dev"])]),
        .systemLibrary(name: "CLibPNG", path: "Sources/CLibPNG", pkgConfig: "libpng16",
                       providers: [.apt(["libpng-dev"])]),
        // Small C layer over libjpeg/libpng: libjpeg's default error handler calls exit(),
        // so decoding goes through setjmp/longjmp and returns an error code instead.
        .target(name: "CImageIO", dependencies: ["CLibJPEG", "CLibPNG"], path: "Sources/CImageIO"),
        // Hot loops in C with AVX2+FMA target attributes, chosen at run time (robust_kernels.h):
        // the rest of the core stays baseline x86-64, so no flag is needed here.
        .target(name: "CKernels", path: "Sources/CKernels"),
        .target(name: "RobustCore", dependencies: ["COpenBLAS", "CImageIO", "CKernels"], path: "Sources/RobustCore"),
        // The C ABI: robust.h's types and the plain-C helpers (per-thread errors), then the
        // @_cdecl functions in Swift. include/robust.h is the one public header.
        .target(name: "CRobustABI", path: "Sources/CRobustABI"),
        .target(name: "CRobust", dependencies: ["RobustCore", "CRobustABI"], path: "Sources/CRobust"),
        .executableTarget(name: "audit-cli",
                          dependencies: ["RobustCore",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/audit-cli"),
        .testTarget(name: "RobustCoreTests", dependencies: ["RobustCore", "CRobust"],
                    path: "Tests/RobustCoreTests", exclude: ["Fixtures"]),
    ]
)
