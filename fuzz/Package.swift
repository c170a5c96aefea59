// swift-tools-version:5.9
// libFuzzer harnesses for robust's parsers, in their own package so that the instrumented
// build (and an executable without a main, which libFuzzer supplies) never touches the
// normal `swift build`. Build and run with fuzz/run.sh.
import PackageDescription

let package = Package(
    name: "robust-fuzz",
    dependencies: [.package(name: "robust", path: "..")],
    targets: [
        .executableTarget(
            name: "robust-fuzz",
            dependencies: [.product(name: "RobustCore", package: "robust"),
                           .product(name: "CRobustModule", package: "robust")],
            path: "Sources/robust-fuzz"),
    ]
)
