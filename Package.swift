// swift-tools-version:6.0
import PackageDescription

/// Every target: zero warnings, enforced (debug builds treat warnings as errors).
let strict: [SwiftSetting] = [
    .unsafeFlags(["-warnings-as-errors"], .when(configuration: .debug)),
]

/// The wire codec, the membership core and its simulator are optimised even in debug builds, so the 1,000-node
/// and the virtual-hour simulations run in Scripts/test.sh in minutes, not tens of minutes (unoptimised, the
/// codec's generic byte handling alone cost more than the protocol).
let optimisedInDebug: [SwiftSetting] = strict + [
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]

let package = Package(
    name: "Rumor",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Rumor", targets: ["Rumor"]),
        .executable(name: "rumor", targets: ["rumor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // libsodium, found through pkg-config; Scripts/*.sh install libsodium-dev when it is missing.
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
        ),
        // The few C calls Swift's Glibc module does not expose usably: eventfd, stdout buffering, sendmmsg/recvmmsg
        // (batched datagram I/O, declared only under _GNU_SOURCE), thread pinning, and blocking and waiting for the
        // stop signals (`rumor start`).
        .target(name: "CRumorSys"),
        .target(name: "RumorCrypto", dependencies: ["CSodium"], swiftSettings: strict),
        .target(name: "RumorWire", swiftSettings: optimisedInDebug),
        .target(name: "RumorMembership", dependencies: ["RumorWire"], swiftSettings: optimisedInDebug),
        .target(name: "RumorMessaging", dependencies: ["RumorWire"], swiftSettings: strict),
        .target(name: "RumorLink", dependencies: ["RumorWire", "RumorCrypto"], swiftSettings: strict),
        .target(
            name: "Rumor",
            dependencies: [
                "RumorWire", "RumorCrypto", "RumorLink", "RumorMembership", "RumorMessaging", "CRumorSys",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "rumor",
            dependencies: [
                "Rumor", "RumorWire", "RumorCrypto", "RumorMembership", "CRumorSys",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["symbol-order.txt", "read-only-data.ld"],
            swiftSettings: strict,
            // Idle RSS (issue 7, Docs/PERFORMANCE.md): the Swift runtime, Dispatch and FoundationEssentials (which
            // ArgumentParser imports) are linked in, so a node holds the pages of them it runs rather than what
            // loading each shared library touches. FoundationEssentials' own static dependencies are not named by
            // its module, so they are named here. (Packed relocations, DT_RELR, would save 0.9 MiB more but need
            // glibc 2.36 wherever the binary runs.) symbol-order.txt puts the functions an idle node runs next to
            // each other, then those of start-up: the kernel maps 64 KiB around each page a process faults in, so
            // scattered functions cost whole neighbourhoods of code.
            linkerSettings: [
                .unsafeFlags([
                    "-static-stdlib", "-use-ld=lld",
                    "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/rumor/symbol-order.txt",
                    "-Xlinker", "--no-warn-symbol-ordering",
                    "-Xlinker", "-z", "-Xlinker", "now",
                    "-Xlinker", "--script=\(Context.packageDirectory)/Sources/rumor/read-only-data.ld",
                ], .when(platforms: [.linux])),
                .linkedLibrary("_FoundationCollections", .when(platforms: [.linux])),
                .linkedLibrary("_FoundationCShims", .when(platforms: [.linux])),
            ]
        ),
        // The embedding example of README.md, compiled with everything else so it cannot rot.
        .executableTarget(name: "rumor-embedding-example", dependencies: ["Rumor"], path: "Examples/Embedding", swiftSettings: strict),
        // The benchmarks behind Scripts/bench.sh; release builds only matter for its figures.
        .executableTarget(
            name: "rumor-bench",
            dependencies: ["Rumor", "RumorLink", "RumorCrypto", "RumorWire", "RumorMembership", "RumorMessaging", "RumorSimulator", "CRumorSys", "CSodium"],
            path: "Sources/RumorBench",
            swiftSettings: strict
        ),
        .target(name: "RumorSimulator", dependencies: ["RumorMembership", "RumorMessaging", "RumorWire"], swiftSettings: optimisedInDebug),
        .testTarget(name: "RumorWireTests", dependencies: ["RumorWire"], swiftSettings: strict),
        .testTarget(name: "RumorCryptoTests", dependencies: ["RumorCrypto", "RumorLink", "RumorWire"], swiftSettings: strict),
        .testTarget(name: "RumorMembershipTests", dependencies: ["RumorMembership", "RumorSimulator", "RumorWire"], swiftSettings: optimisedInDebug),
        .testTarget(name: "RumorMessagingTests", dependencies: ["RumorMessaging", "RumorSimulator", "RumorWire"], swiftSettings: strict),
        .testTarget(name: "RumorNodeTests", dependencies: ["Rumor", "RumorWire", "RumorLink", "RumorCrypto", "RumorMessaging"], swiftSettings: strict),
        .testTarget(name: "RumorCLITests", dependencies: [], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
