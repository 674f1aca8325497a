import AgentSupport
import Config
import Foundation
import TestSupport
import Testing

/// `object_lock_mode` / `object_lock_days` (issue 15).
struct ObjectLockConfigTests {
    static let awsVault = """
        [vaults.primary]
        provider = "aws"
        bucket = "acme-backups"
        region = "eu-central-1"
        access_key_id = "AKIAEXAMPLE1234"
        secret_access_key = "SuperSecretValue42"
        """

    @Test func modeAndDaysResolve() throws {
        let vault = try ConfigFixture(Self.awsVault + "\nobject_lock_mode = \"compliance\"\nobject_lock_days = 30\n").load().vault(named: "primary")
        #expect(vault.objectLock == ObjectLockSettings(mode: .compliance, days: 30))
        let until: Int64? = vault.objectLock?.retainUntil(from: 1_000)
        #expect(until == 2_593_000)
    }

    @Test func withoutThemThereIsNoLock() throws {
        #expect(try ConfigFixture(Self.awsVault).load().vault(named: "primary").objectLock == nil)
    }

    @Test func providerWithoutObjectLockIsInvalidAndNamesItsAlternative() throws {
        let fixture = try ConfigFixture(r2Vault + "\nobject_lock_mode = \"GOVERNANCE\"\nobject_lock_days = 7\n")
        let error = agentError { _ = try fixture.load().vault(named: "primary") }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("object_lock_mode") == true && error?.message.contains("Cloudflare R2") == true)
        #expect(error?.message.contains("\(fixture.path):\(try fixture.line(of: "object_lock_mode"))") == true)
        #expect(error?.hint.contains("bucket lock rules") == true)
    }

    @Test(arguments: [
        ("object_lock_mode = \"FOREVER\"\nobject_lock_days = 3", "object_lock_mode"),
        ("object_lock_mode = \"GOVERNANCE\"", "without object_lock_days"),
        ("object_lock_days = 3", "without object_lock_mode"),
        ("object_lock_mode = \"GOVERNANCE\"\nobject_lock_days = 0", "outside 1...36500"),
        ("object_lock_mode = \"GOVERNANCE\"\nobject_lock_days = 36501", "outside 1...36500"),
        ("object_lock_mode = 3\nobject_lock_days = 3", "object_lock_mode"),
    ])
    func badSettingsAreNamed(lines: String, words: String) throws {
        let fixture = try ConfigFixture(Self.awsVault + "\n" + lines + "\n")
        let error = agentError { _ = try fixture.load().vault(named: "primary") }
        #expect(error?.code == .invalidConfig)
        #expect(error.map { $0.message.contains(words) } == true, "\(error?.message ?? "")")
    }

    @Test func complianceCoversGovernanceNotTheOtherWay() {
        #expect(ObjectLockMode.governance.isCovered(by: "COMPLIANCE"))
        #expect(ObjectLockMode.governance.isCovered(by: "governance"))
        #expect(!ObjectLockMode.compliance.isCovered(by: "GOVERNANCE"))
        #expect(!ObjectLockMode.governance.isCovered(by: ""))
    }
}
