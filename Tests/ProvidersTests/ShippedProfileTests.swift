import AgentSupport
import Foundation
import Testing

@testable import Providers

/// The profiles compiled into the binary are exactly `providers/*.toml`, and every one is usable.
struct ShippedProfileTests {
    static let requiredNames = ["aws", "b2", "minio", "other", "r2", "spaces", "wasabi"]

    /// providers/ at the repository root, found from this file's path.
    static let providersDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("providers").path

    @Test func everyRequiredProviderIsShipped() {
        let names = ShippedProfiles.files.map(\.name)
        for name in Self.requiredNames {
            #expect(names.contains(name), "no shipped profile \(name); run scripts/embed-profiles.py")
        }
    }

    @Test func embeddedProfilesMatchTheFilesInProviders() throws {
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: Self.providersDirectory).filter { $0.hasSuffix(".toml") }.sorted()
        #expect(ShippedProfiles.files.map { $0.name + ".toml" } == onDisk, "embedded set differs from providers/; run scripts/embed-profiles.py")
        for (name, text) in ShippedProfiles.files {
            let file = try String(contentsOfFile: Self.providersDirectory + "/\(name).toml", encoding: .utf8)
            #expect(Bool(text == file), "embedded \(name) is stale; run scripts/embed-profiles.py")
        }
    }

    @Test(arguments: ShippedProfiles.files.map(\.name))
    func shippedProfileLoadsAndRendersItsEndpoint(name: String) throws {
        let profile = try #require(try ProviderCatalog.builtIn().profile(named: name))
        #expect(profile.source == "built-in")
        #expect(profile.integrity.verifies(profile.integrity.preferred))
        #expect(!profile.terms.permission("s3:PutObject").isEmpty)
        if profile.endpointTemplate.isEmpty {
            let error = try #require(throws: AgentError.self) { try profile.endpoint(region: "us-east-1", settings: [:]) }
            #expect(error.code == .invalidConfig)
            #expect(error.hint.contains("endpoint"))
            return
        }
        let region = profile.defaultRegion ?? profile.regions.first ?? profile.knownRegions.first ?? "us-east-1"
        var settings: [String: String] = [:]
        for setting in profile.requiredSettings { settings[setting] = "abc123" }
        let endpoint = try profile.endpoint(region: region, settings: settings)
        #expect(endpoint.hasPrefix("https://"))
        #expect(!endpoint.contains("{") && !endpoint.hasSuffix("/"))
        for setting in profile.requiredSettings {
            #expect(endpoint.contains("abc123"))
            let error = try #require(throws: AgentError.self) { try profile.endpoint(region: region, settings: [:]) }
            #expect(error.message.contains(setting))
        }
    }

    @Test func r2EndpointNeedsTheAccountID() throws {
        let r2 = try #require(try ProviderCatalog.builtIn().profile(named: "r2"))
        #expect(try r2.endpoint(region: "auto", settings: ["account_id": "0123abcd"]) == "https://0123abcd.r2.cloudflarestorage.com")
        let error = try #require(throws: AgentError.self) { try r2.endpoint(region: "auto", settings: [:]) }
        #expect(error.code == .invalidConfig)
        #expect(error.message.contains("account_id"))
        #expect(error.hint.contains("account_id"))
    }
}
