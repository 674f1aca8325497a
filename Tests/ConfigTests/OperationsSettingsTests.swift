import AgentSupport
import Config
import Foundation
import TestSupport
import Testing

/// ping_url, calendar retention and the bandwidth timetable as the config file gives them.
struct OperationsSettingsTests {
    @Test func settingsAreReadAndTheVaultPingURLOverridesTheTopLevelOne() throws {
        let fixture = try ConfigFixture(
            """
            ping_url = "https://hc-ping.com/top-level-uuid"
            bandwidth_limit = "Mon-08:00,2MiB/s 19:00,off"
            \(r2Vault)
            keep_daily = 7
            keep_weekly = 4
            keep_monthly = 12
            keep_yearly = 3
            [vaults.second]
            provider = "r2"
            bucket = "b2"
            account_id = "0123abcd"
            access_key_id = "AKIAEXAMPLE1234"
            secret_access_key = "SuperSecretValue42"
            ping_url = "http://monitor.internal:3001/api/push/abc?status=up"
            bandwidth_limit = "10MiB/s"
            """)
        let config = try fixture.load()
        let primary = try config.vault(named: "primary")
        #expect([primary.keepDaily, primary.keepWeekly, primary.keepMonthly, primary.keepYearly] == [7, 4, 12, 3])
        #expect(primary.pingURL == "https://hc-ping.com/top-level-uuid")
        #expect(primary.bandwidthTimetable?.entries.count == 2)
        #expect(primary.bandwidthLimit == nil)
        let second = try config.vault(named: "second")
        #expect(second.pingURL == "http://monitor.internal:3001/api/push/abc?status=up")
        #expect(second.bandwidthLimit == 10 << 20)
        #expect(second.bandwidthTimetable == nil)
        #expect(config.pingURL(forVault: "nope") == "https://hc-ping.com/top-level-uuid")
    }

    @Test(arguments: [
        ("ping_url = \"hc-ping.com/abc-secret-path\"", "ping_url"), ("ping_url = \"https://hc-ping.com/a b-secret-path\"", "ping_url"),
        ("ping_url = \"https:///secret-path\"", "ping_url"), ("keep_daily = 0", "keep_daily"), ("keep_weekly = \"4\"", "keep_weekly"),
        ("bandwidth_limit = \"08:00,2MiB/s 25:00,off\"", "bandwidth_limit"), ("bandwidth_limit = \"Xyz-08:00,1MiB\"", "bandwidth_limit"),
    ])
    func badValuesAreInvalidConfigAtTheirLine(line: String, key: String) throws {
        let fixture = try ConfigFixture(r2Vault + "\n" + line + "\n")
        let error = agentError { _ = try fixture.load() }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("\(fixture.path):\(try fixture.line(of: line))") == true)
        #expect(error?.message.contains(key) == true)
        // A ping URL is a capability: never repeated in a message.
        #expect(error?.message.contains("secret-path") == false)
    }
}
