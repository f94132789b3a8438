// swift-tools-version:6.0
import PackageDescription

// The fuzz targets of Rumor, kept out of the main package because they only build with
// `-sanitize=fuzzer` (libFuzzer). Build and run them with Scripts/fuzz.sh; Fuzz/README.md explains the layout.
let targets = ["packet", "handshake", "transport", "replay", "reassembly", "membership", "envelope", "json", "keyfiles", "snapshot"]

let package = Package(
    name: "RumorFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Rumor", path: "..")],
    targets: [
        // The targets and their invariants, free of libFuzzer so the regression test can compile them too
        // (Tests/RumorNodeTests/FuzzHarness links here).
        .target(name: "FuzzHarness", dependencies: [.product(name: "Rumor", package: "Rumor")]),
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzMain", dependencies: ["CLibFuzzer", "FuzzHarness"]),
    ] + targets.map { .executableTarget(name: "fuzz-\($0)", dependencies: ["FuzzMain", "FuzzHarness"]) },
    swiftLanguageModes: [.v6]
)
