import AgentSupport
import TestSupport
import Testing

@testable import Providers

struct ProviderCatalogTests {
    @Test func overrideDirectoryReplacesABuiltInProfileByName() throws {
        let dir = try TemporaryDirectory()
        let text = ProfileFixtures.profile(name: "r2", displayName: "Our R2")
        let path = try dir.write("r2.toml", text)
        try dir.write("acme.toml", ProfileFixtures.profile())
        try dir.write("README.md", "not a profile")

        let catalog = try ProviderCatalog.load(overrideDirectory: dir.path)
        let r2 = try #require(catalog.profile(named: "r2"))
        #expect(r2.displayName == "Our R2")
        #expect(r2.source == path)
        #expect(catalog.profile(named: "acme")?.displayName == "Acme Storage")
        #expect(catalog.profile(named: "aws")?.source == "built-in")
        #expect(catalog.names == catalog.names.sorted())
        #expect(catalog.profiles.filter { $0.name == "r2" }.count == 1)
    }

    @Test func badOverrideFileNamesFileLineAndField() throws {
        let dir = try TemporaryDirectory()
        let text = ProfileFixtures.profile(replacing: "max_parts", with: "max_parts = 0")
        let path = try dir.write("acme.toml", text)
        let error = try #require(throws: AgentError.self) { try ProviderCatalog.load(overrideDirectory: dir.path) }
        #expect(error.code == .invalidConfig)
        #expect(error.message.contains("\(path):\(ProfileFixtures.line(of: "max_parts", in: text)):"))
        #expect(error.message.contains("multipart.max_parts"))
    }

    @Test func explicitOverrideDirectoryMustExist() throws {
        let error = try #require(throws: AgentError.self) { try ProviderCatalog.load(overrideDirectory: "/nonexistent/providers.d") }
        #expect(error.code == .invalidConfig)
        #expect(error.message.contains("/nonexistent/providers.d"))
    }
}
