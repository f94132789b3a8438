// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .unsafeFlags(["-warnings-as-errors"], .when(configuration: .debug)),
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
        // The few system calls Swift's Glibc module does not expose (eventfd, recvmmsg/sendmmsg).
        .target(name: "CRumorSys"),
        .target(name: "RumorCrypto", dependencies: ["CSodium"]),
        .target(name: "RumorWire"),
        .target(name: "RumorMembership", dependencies: ["RumorWire"]),
        .target(name: "RumorMessaging", dependencies: ["RumorWire"]),
        .target(name: "RumorLink", dependencies: ["RumorWire", "RumorCrypto"]),
        .target(
            name: "Rumor",
            dependencies: [
                "RumorWire", "RumorCrypto", "RumorLink", "RumorMembership", "RumorMessaging", "CRumorSys",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "rumor",
            dependencies: [
                "Rumor", "RumorWire", "RumorCrypto", "RumorMembership", "CRumorSys",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The embedding example of README.md, compiled with everything else so it cannot rot.
        .executableTarget(name: "rumor-embedding-example", dependencies: ["Rumor"], path: "Examples/Embedding"),
        // The benchmarks behind Scripts/bench.sh; release builds only matter for its figures.
        .executableTarget(
            name: "rumor-bench",
            dependencies: ["Rumor", "RumorLink", "RumorCrypto", "RumorWire", "RumorMembership", "RumorMessaging", "RumorSimulator", "CRumorSys"],
            path: "Sources/RumorBench"
        ),
        .target(name: "RumorSimulator", dependencies: ["RumorMembership", "RumorMessaging", "RumorWire"]),
        .testTarget(name: "RumorWireTests", dependencies: ["RumorWire"]),
        .testTarget(name: "RumorCryptoTests", dependencies: ["RumorCrypto", "RumorLink", "RumorWire"]),
        .testTarget(name: "RumorMembershipTests", dependencies: ["RumorMembership", "RumorSimulator", "RumorWire"]),
        .testTarget(name: "RumorMessagingTests", dependencies: ["RumorMessaging", "RumorSimulator", "RumorWire"]),
        .testTarget(name: "RumorNodeTests", dependencies: ["Rumor", "RumorWire", "RumorLink", "RumorCrypto", "RumorMessaging"]),
        .testTarget(name: "RumorCLITests", dependencies: []),
    ],
    swiftLanguageModes: [.v6]
)
