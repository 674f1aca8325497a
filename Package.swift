// swift-tools-version:6.0
// offsite-agent: pushes finished backup archives to S3-compatible storage.
// Dependencies point one way: agent (CLI) -> Upload/Restore/Diagnostics -> Vault -> S3 -> HTTPTransport + SigV4 -> C shims.
// Restore never imports Upload: what both directions need lives in Vault.
// Config -> Credentials (instance role over IMDSv2) -> HTTPTransport; Metrics needs only AgentSupport.

import PackageDescription

// The git commit `agent --version` reports: `make` passes it (OFFSITE_AGENT_COMMIT=<sha>[-dirty]);
// only hex digits, '-' and letters are kept, so it is always a plain C string literal.
let buildCommit = (Context.environment["OFFSITE_AGENT_COMMIT"] ?? "").filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }

let package = Package(
    name: "offsite-agent",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "agent", targets: ["agent"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // C edge: system libraries and the non-variadic curl shim.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // Intel ISA-L (libisal-dev): SIMD CRC-32C for x-amz-checksum-crc32c.
        .systemLibrary(
            name: "CISAL",
            pkgConfig: "libisal",
            providers: [.apt(["libisal-dev"])]
        ),
        .target(name: "CCurlShim", dependencies: ["CCurl"]),
        // Debian's toml++ (libtomlplusplus-dev), header-only, behind a C interface: no exception
        // crosses into Swift, no Foundation, no run-time library.
        .target(
            name: "CTOMLShim",
            cxxSettings: [.define("TOML_EXCEPTIONS", to: "0"), .define("TOML_HEADER_ONLY", to: "1")]
        ),
        .target(
            name: "CBuildInfo", dependencies: ["CCurl", "COpenSSL"],
            cSettings: buildCommit.isEmpty ? [] : [.define("OFFSITE_AGENT_COMMIT", to: "\"\(buildCommit)\"")]
        ),

        // Core modules, one folder per concern.
        .target(name: "AgentSupport", dependencies: [.product(name: "Logging", package: "swift-log")]),
        .target(name: "Hashing", dependencies: ["COpenSSL", "CISAL"]),
        // age v1 (C2SP age.md) over libcrypto: keys, header, STREAM; no I/O of its own.
        .target(name: "Age", dependencies: ["COpenSSL"]),
        .target(name: "SigV4", dependencies: ["Hashing"]),
        .target(name: "HTTPTransport", dependencies: ["CCurl", "CCurlShim", "AgentSupport"]),
        .target(name: "S3", dependencies: ["HTTPTransport", "SigV4", "Hashing", "AgentSupport"]),
        .target(name: "Providers", dependencies: ["AgentSupport", "CTOMLShim"]),
        .target(name: "Credentials", dependencies: ["HTTPTransport", "AgentSupport"]),
        .target(name: "Config", dependencies: ["Providers", "Credentials", "AgentSupport", "Age"]),
        .target(name: "Metrics", dependencies: ["AgentSupport"]),
        .target(name: "Monitoring", dependencies: ["AgentSupport", "HTTPTransport", "SigV4"]),
        .target(name: "CTimeShim"),
        // agent doctor and agent fleet: the knowledge-base checklist and the bucket-wide view.
        .target(
            name: "Operations",
            dependencies: ["AgentSupport", "Config", "Backups", "Vault", "Upload", "Restore", "Metrics", "Diagnostics", "HTTPTransport", "S3", "CTimeShim"]),
        .target(name: "Backups", dependencies: ["AgentSupport"]),
        // What both directions need: reaching a vault (endpoint, session, retries, cancellation,
        // bandwidth share), the storage-error mapping, and the offsite manifest (reader and writer).
        .target(
            name: "Vault",
            dependencies: ["AgentSupport", "Backups", "Config", "Credentials", "HTTPTransport", "Hashing", "S3", "SigV4", .product(name: "Logging", package: "swift-log")]),
        .target(name: "Diagnostics", dependencies: ["S3", "HTTPTransport", "SigV4", "Hashing", "Config", "Providers", "Age", "AgentSupport"]),
        .target(
            name: "Upload",
            dependencies: ["Backups", "S3", "Config", "Credentials", "Providers", "Hashing", "Age", "AgentSupport", "Vault", .product(name: "Logging", package: "swift-log")]
        ),

        .target(
            name: "Restore",
            dependencies: ["S3", "HTTPTransport", "Config", "Backups", "Hashing", "Vault", "Age", "AgentSupport", .product(name: "Logging", package: "swift-log")]
        ),

        // The CLI: argument parsing and output only.
        .executableTarget(
            name: "agent",
            dependencies: [
                "AgentSupport", "Config", "Providers", "S3", "Backups", "Vault", "Upload", "Restore", "Diagnostics", "HTTPTransport", "CCurlShim", "CBuildInfo", "Metrics", "Age", "Monitoring", "Operations",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // libFuzzer targets for the parsers of outside input (`make fuzz`); in this ordinary build,
        // a replayer of their inputs (`agent-fuzz TARGET FILE...`).
        .executableTarget(
            name: "agent-fuzz", dependencies: ["Age", "AgentSupport", "Config", "Providers", "Restore", "S3", "SigV4", "Upload", "Vault", "HTTPTransport"],
            path: "Fuzz/Sources"),

        .testTarget(name: "HashingTests", dependencies: ["Hashing"]),
        // zlib only inflates the compressed vectors of the age test kit (tests only).
        .systemLibrary(name: "CZlib", path: "Tests/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .testTarget(name: "AgeTests", dependencies: ["Age", "CZlib", "Hashing"], exclude: ["Fixtures"]),
        .testTarget(name: "SigV4Tests", dependencies: ["SigV4", "Hashing"], exclude: ["Fixtures"]),
        .target(name: "TestSupport", dependencies: [.product(name: "Logging", package: "swift-log")], path: "Tests/TestSupport"),
        // TOMLKit only here: the agent reads TOML with toml++; this test reads every sample, profile
        // and test config with both and requires the same result.
        .testTarget(name: "ProvidersTests", dependencies: ["Providers", "TestSupport", "TOMLKit"], exclude: ["Fixtures"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "Providers", "TestSupport"]),
        .testTarget(name: "S3Tests", dependencies: ["S3", "HTTPTransport", "SigV4", "Hashing"]),
        .testTarget(name: "DiagnosticsTests", dependencies: ["Diagnostics", "S3", "HTTPTransport", "Providers", "Config", "AgentSupport", "TestSupport"]),
        .testTarget(
            name: "VaultTests", dependencies: ["Vault", "Upload", "Restore", "Backups", "Config", "S3", "HTTPTransport", "AgentSupport", "TestSupport"]),
        .testTarget(name: "UploadTests", dependencies: ["Upload", "Vault", "Backups", "Providers", "AgentSupport", "Config", "S3"], exclude: ["Fixtures"]),
        .testTarget(name: "CredentialsTests", dependencies: ["Credentials", "HTTPTransport", "AgentSupport"]),
        .testTarget(name: "MonitoringTests", dependencies: ["Monitoring", "AgentSupport"]),
        .testTarget(name: "OperationsTests", dependencies: ["Operations", "Backups", "Vault", "Upload", "Restore", "Metrics", "Diagnostics", "AgentSupport", "TestSupport"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "AgentSupport", "TestSupport"]),
        .testTarget(
            name: "AgentSupportTests", dependencies: ["AgentSupport", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        // An in-process S3 server on loopback for the unit tests (never linked into the agent),
        // and the tests that drive the real upload and restore engines through it.
        .target(name: "S3StubSupport", dependencies: ["Hashing", "S3"], path: "Tests/S3StubSupport"),
        .testTarget(
            name: "EngineRecoveryTests",
            dependencies: [
                "Upload", "Restore", "Vault", "Backups", "Providers", "Config", "S3", "HTTPTransport", "SigV4", "Hashing", "AgentSupport", "TestSupport",
                "S3StubSupport", .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "RestoreTests", dependencies: ["Restore", "Vault", "Upload", "Backups", "S3", "HTTPTransport", "Hashing", "AgentSupport", "TestSupport"], exclude: ["Fixtures"]),
    ],
    cxxLanguageStandard: .cxx17
)
