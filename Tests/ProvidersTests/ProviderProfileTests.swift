import AgentSupport
import Foundation
import Testing

@testable import Providers

struct ProviderProfileTests {
    private func parse(_ text: String, file: String = "/x/acme.toml") throws -> ProviderProfile {
        try ProviderProfile.parse(text, file: file, source: file, expectedName: "acme")
    }

    /// Parsing `text` fails with INVALID_CONFIG whose message holds every fragment.
    private func expectInvalid(_ text: String, mentions fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try parse(text)
            Issue.record("parsed without error", sourceLocation: sourceLocation)
        } catch let error as AgentError {
            #expect(error.code == .invalidConfig, sourceLocation: sourceLocation)
            for fragment in fragments {
                #expect(error.message.contains(fragment), "\(error.message) lacks \(fragment)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func fixtureParsesIntoEveryField() throws {
        let p = try parse(ProfileFixtures.profile())
        #expect(p.name == "acme" && p.displayName == "Acme Storage")
        #expect(p.defaultRegion == "eu-1" && p.regions == ["eu-1", "us-1"] && p.requiredSettings == ["account_id"])
        #expect(p.addressing == .path && p.virtualHosted)
        #expect(
            p.multipart
                == MultipartLimits(
                    minPartSize: 5 << 20, maxPartSize: 5 << 30, maxParts: 10000, equalParts: true, maxSinglePut: 5 << 30, maxObjectSize: 5 << 40, multipartThreshold: 64 << 20))
        #expect(p.integrity.preferred == .signedPayload)
        #expect(p.integrity.verifiedModes == [.signedPayload, .contentMD5, .checksumSHA256, .checksumCRC32C])
        #expect(p.terms.permission("s3:PutObject") == "the Writer role")
        #expect(p.terms.permission("s3:DeleteObject") == "the s3:DeleteObject permission")
        #expect(try p.endpoint(region: "us-1", settings: ["account_id": "42"]) == "https://42.us-1.acme.example")
    }

    @Test func emptyDefaultRegionMeansTheOperatorMustSetOne() throws {
        let p = try parse(ProfileFixtures.profile(replacing: "default_region", with: #"default_region = """#))
        #expect(p.defaultRegion == nil)
    }

    @Test func badSizeNamesFileLineAndField() {
        let text = ProfileFixtures.profile(replacing: "min_part_size", with: #"min_part_size = "5 potatoes""#)
        expectInvalid(text, mentions: ["/x/acme.toml:\(ProfileFixtures.line(of: "min_part_size", in: text)):", "multipart.min_part_size", "5 potatoes"])
    }

    @Test func malformedTOMLNamesTheLine() {
        let text = ProfileFixtures.profile(replacing: "addressing", with: "addressing = path")
        expectInvalid(text, mentions: ["/x/acme.toml:\(ProfileFixtures.line(of: "addressing", in: text)):", "malformed TOML"])
    }

    @Test func unknownKeyIsNamed() {
        let text = ProfileFixtures.profile(replacing: "max_parts", with: "max_part = 10000\nmax_parts = 10000")
        expectInvalid(text, mentions: ["multipart.max_part", ":\(ProfileFixtures.line(of: "max_part", in: text)):"])
    }

    @Test func missingFieldIsNamed() {
        expectInvalid(ProfileFixtures.profile(replacing: "etag_is_md5", with: nil), mentions: ["integrity.etag_is_md5"])
        expectInvalid(ProfileFixtures.profile(replacing: "display_name", with: nil), mentions: ["display_name"])
    }

    @Test func wrongTypeIsNamed() {
        expectInvalid(ProfileFixtures.profile(replacing: "equal_parts", with: #"equal_parts = "yes""#), mentions: ["multipart.equal_parts", "true or false"])
    }

    @Test func minPartSizeAboveMaxIsRejected() {
        expectInvalid(ProfileFixtures.profile(replacing: "min_part_size", with: #"min_part_size = "6GiB""#), mentions: ["multipart.min_part_size", "max_part_size"])
    }

    @Test func thresholdAboveSinglePutIsRejected() {
        expectInvalid(ProfileFixtures.profile(replacing: "multipart_threshold", with: #"multipart_threshold = "6GiB""#), mentions: ["multipart.multipart_threshold"])
    }

    @Test func preferredMustBeAMechanismTheProviderVerifies() {
        let text = ProfileFixtures.profile(replacing: "checksum_algorithms", with: "checksum_algorithms = []")
            .replacingOccurrences(of: #"preferred = "signed_payload""#, with: #"preferred = "checksum_sha256""#)
        expectInvalid(text, mentions: ["integrity.preferred", "checksum_sha256"])
        expectInvalid(ProfileFixtures.profile(replacing: "preferred", with: #"preferred = "sha512""#), mentions: ["integrity.preferred", "sha512"])
    }

    @Test func unknownChecksumAlgorithmIsRejected() {
        expectInvalid(ProfileFixtures.profile(replacing: "checksum_algorithms", with: #"checksum_algorithms = ["md4"]"#), mentions: ["integrity.checksum_algorithms", "md4"])
    }

    @Test func addressingMustBePathOrVirtual() {
        expectInvalid(ProfileFixtures.profile(replacing: "addressing", with: #"addressing = "dns""#), mentions: ["addressing", "dns"])
        expectInvalid(
            ProfileFixtures.profile(replacing: "addressing", with: #"addressing = "virtual""#).replacingOccurrences(of: "virtual_hosted = true", with: "virtual_hosted = false"),
            mentions: ["virtual_hosted"])
    }

    @Test func endpointPlaceholderMustBeARequiredSetting() {
        expectInvalid(ProfileFixtures.profile(replacing: "required_settings", with: "required_settings = []"), mentions: ["endpoint", "{account_id}"])
        expectInvalid(ProfileFixtures.profile(replacing: "endpoint", with: #"endpoint = "ftp://{account_id}.acme""#), mentions: ["endpoint"])
        expectInvalid(ProfileFixtures.profile(replacing: "endpoint", with: #"endpoint = "https://{account_id.acme""#), mentions: ["endpoint"])
    }

    @Test func defaultRegionMustBeAnAllowedRegion() {
        expectInvalid(ProfileFixtures.profile(replacing: "default_region", with: #"default_region = "mars-1""#), mentions: ["default_region", "mars-1"])
    }

    @Test func permissionKeysMustBeS3Actions() {
        expectInvalid(ProfileFixtures.profile().replacingOccurrences(of: #""s3:PutObject""#, with: #""PutObject""#), mentions: [#"terms.permissions.PutObject"#])
    }

    @Test func nameMustMatchTheFile() {
        expectInvalid(ProfileFixtures.profile(name: "other-name"), mentions: ["other-name", "acme.toml"])
    }

    @Test func endpointRejectsSettingsThatAreNotHostNameText() throws {
        let p = try parse(ProfileFixtures.profile())
        let error = try #require(throws: AgentError.self) { try p.endpoint(region: "eu-1", settings: ["account_id": "evil.com/x?"]) }
        #expect(error.code == .invalidConfig && error.message.contains("account_id"))
    }

    @Test func baseURLNormalisation() {
        #expect(EndpointTemplate.normalizedBaseURL("https://S3.Example.com/") == "https://s3.example.com")
        #expect(EndpointTemplate.normalizedBaseURL("http://127.0.0.1:9000") == "http://127.0.0.1:9000")
        #expect(EndpointTemplate.normalizedBaseURL("http://[::1]:9000") == "http://[::1]:9000")
        #expect(EndpointTemplate.normalizedBaseURL("https://host/path") == nil)
        #expect(EndpointTemplate.normalizedBaseURL("https://user@host") == nil)
        #expect(EndpointTemplate.normalizedBaseURL("https://host:99999") == nil)
        #expect(EndpointTemplate.normalizedBaseURL("s3.example.com") == nil)
    }
}
