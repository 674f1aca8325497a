import AgentSupport
import Testing

@testable import Providers

/// `[object_lock]` in provider profiles: every shipped profile says whether S3 Object Lock is
/// supported, and the words used when it is missing or must be enabled.
struct ObjectLockProfileTests {
    @Test(arguments: ShippedProfiles.files.map(\.name))
    func everyShippedProfileDeclaresObjectLock(name: String) throws {
        let profile = try #require(try ProviderCatalog.builtIn().profile(named: name))
        #expect(profile.objectLock != .undeclared, "providers/\(name).toml has no [object_lock] table")
        #expect(!profile.objectLock.hint.isEmpty)
    }

    @Test func r2AndSpacesHaveNoObjectLockAndNameTheAlternative() throws {
        let catalog = try ProviderCatalog.builtIn()
        let r2 = try #require(catalog.profile(named: "r2"))
        #expect(!r2.objectLock.supported)
        #expect(r2.objectLock.hint.contains("bucket lock rules"))
        let spaces = try #require(catalog.profile(named: "spaces"))
        #expect(!spaces.objectLock.supported)
    }

    @Test(arguments: ["aws", "b2", "wasabi", "minio"])
    func lockProvidersSayHowToEnableIt(name: String) throws {
        let profile = try #require(try ProviderCatalog.builtIn().profile(named: name))
        #expect(profile.objectLock.supported)
        for action in ["s3:PutObjectRetention", "s3:GetObjectRetention", "s3:BypassGovernanceRetention", "s3:DeleteObjectVersion"] {
            #expect(profile.terms.permissions[action] != nil, "\(name) has no words for \(action)")
        }
    }

    @Test func wasabiOnlyAtCreationAwsOnAnExistingBucket() throws {
        let catalog = try ProviderCatalog.builtIn()
        #expect(try #require(catalog.profile(named: "wasabi")).objectLock.hint.contains("only when a bucket is created"))
        #expect(try #require(catalog.profile(named: "aws")).objectLock.hint.contains("existing bucket"))
    }

    @Test func aProfileWithoutTheTableDoesNotOfferObjectLock() throws {
        let profile = try ProviderProfile.parse(ProfileFixtures.profile(), file: "acme.toml", source: "test")
        #expect(profile.objectLock == .undeclared && !profile.objectLock.supported)
    }

    @Test func theTableIsReadAndCheckedLikeTheRest() throws {
        let ok = try ProviderProfile.parse(
            ProfileFixtures.profile() + "\n[object_lock]\nsupported = true\nhint = \"tick Object Lock when creating the bucket\"\n", file: "acme.toml", source: "test")
        #expect(ok.objectLock == ObjectLockSupport(supported: true, hint: "tick Object Lock when creating the bucket"))
        let typo = #expect(throws: AgentError.self) {
            try ProviderProfile.parse(ProfileFixtures.profile() + "\n[object_lock]\nsuported = true\nhint = \"x\"\n", file: "acme.toml", source: "test")
        }
        #expect(typo?.code == .invalidConfig && typo?.message.contains("suported") == true)
        let empty = #expect(throws: AgentError.self) {
            try ProviderProfile.parse(ProfileFixtures.profile() + "\n[object_lock]\nsupported = false\nhint = \"\"\n", file: "acme.toml", source: "test")
        }
        #expect(empty?.message.contains("hint") == true)
    }
}
