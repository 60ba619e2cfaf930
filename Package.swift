// swift-tools-version:6.0
import PackageDescription

// No package dependencies by design: the toolchain plus libcurl as a system library.
// Release builds leave out the run-time exclusivity checks (about 90 per proxied request, ~7k instructions: a
// thread-local access set updated on every mutation of a class property); the compiler's static checks stay, and
// debug builds, which every `swift test` run uses, keep the run-time ones too.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

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
        // The allocator the executable runs on (Sources/jobgate/Allocator.swift says why).
        .systemLibrary(
            name: "CMimalloc",
            providers: [.apt(["libmimalloc-dev"])]
        ),
        .target(name: "JobGateJSON", swiftSettings: strict),
        .systemLibrary(name: "CLinux"),
        // The layers, each depending only on those below it:
        // platform (loop, syscalls) ← inbound server, upstream client; pure core ← runtime ← executable.
        .target(name: "JobGatePosix", dependencies: ["CLinux"], swiftSettings: strict),
        .target(name: "JobGateHTTP", dependencies: ["JobGatePosix", "CLinux"], swiftSettings: strict),
        .target(name: "JobGateUpstream", dependencies: ["CCurl", "JobGatePosix"], swiftSettings: strict),
        .target(name: "JobGateCore", dependencies: ["JobGateJSON"], swiftSettings: strict),
        .target(name: "JobGate", dependencies: ["JobGateCore", "JobGateHTTP", "JobGateJSON", "JobGatePosix", "JobGateUpstream"],
                swiftSettings: strict),
        .target(name: "JobGateSandbox", dependencies: ["JobGateCore", "JobGateHTTP", "JobGateJSON", "JobGatePosix"], swiftSettings: strict),
        .executableTarget(name: "jobgate", dependencies: ["CMimalloc", "JobGate", "JobGatePosix", "JobGateSandbox"],
                          swiftSettings: strict),
        .testTarget(name: "JobGateJSONTests", dependencies: ["JobGateJSON"], swiftSettings: strict),
        .testTarget(name: "JobGatePosixTests", dependencies: ["JobGatePosix"], swiftSettings: strict),
        .testTarget(name: "JobGateHTTPTests", dependencies: ["JobGateHTTP", "JobGatePosix"], swiftSettings: strict),
        .testTarget(name: "JobGateUpstreamTests", dependencies: ["JobGateUpstream", "JobGatePosix"], swiftSettings: strict),
        .testTarget(name: "JobGateTests", dependencies: ["JobGate", "JobGateCore", "JobGateHTTP", "JobGatePosix"], swiftSettings: strict),
    ]
)
