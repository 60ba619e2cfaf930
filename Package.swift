// swift-tools-version:6.0
import PackageDescription

// No package dependencies by design: the toolchain plus libcurl as a system library.
let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "JobGate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "jobgate", targets: ["jobgate"]),
    ],
    targets: [
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(name: "JobGateJSON", swiftSettings: strict),
        .systemLibrary(name: "CLinux"),
        .target(name: "JobGateHTTP", dependencies: ["CLinux"], swiftSettings: strict),
        .target(name: "JobGateUpstream", dependencies: ["CCurl", "JobGateHTTP"], swiftSettings: strict),
        .target(name: "JobGate", dependencies: ["JobGateHTTP", "JobGateJSON", "JobGateUpstream"], swiftSettings: strict),
        .target(name: "JobGateSandbox", dependencies: ["JobGateHTTP", "JobGateJSON"], swiftSettings: strict),
        .executableTarget(name: "jobgate", dependencies: ["JobGate", "JobGateHTTP", "JobGateSandbox"], swiftSettings: strict),
        .testTarget(name: "JobGateJSONTests", dependencies: ["JobGateJSON"], swiftSettings: strict),
        .testTarget(name: "JobGateHTTPTests", dependencies: ["JobGateHTTP"], swiftSettings: strict),
        .testTarget(name: "JobGateUpstreamTests", dependencies: ["JobGateUpstream"], swiftSettings: strict),
        .testTarget(name: "JobGateTests", dependencies: ["JobGate"], swiftSettings: strict),
    ]
)
