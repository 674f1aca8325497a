import Diagnostics
import Testing

@Suite struct BucketNameRulesTests {
    @Test func acceptsNamesEveryProviderAllows() {
        for name in ["acme-backups", "abc", "web.01-backups", String(repeating: "a", count: 63), "0-9"] {
            #expect(BucketNameRules.violation(name) == nil, "\(name)")
        }
    }

    @Test func namesTheRuleBroken() throws {
        #expect(try #require(BucketNameRules.violation("ab")).contains("3 to 63"))
        #expect(try #require(BucketNameRules.violation(String(repeating: "a", count: 64))).contains("has 64"))
        #expect(try #require(BucketNameRules.violation("Backups_2026")).contains("uppercase"))
        #expect(try #require(BucketNameRules.violation("backups_2026")).contains("'_'"))
        #expect(try #require(BucketNameRules.violation("-backups")).contains("starts and ends"))
        #expect(try #require(BucketNameRules.violation("backups.")).contains("starts and ends"))
        #expect(try #require(BucketNameRules.violation("a..b")).contains("adjacent dots"))
        #expect(try #require(BucketNameRules.violation("192.168.5.4")).contains("IP address"))
        #expect(try #require(BucketNameRules.violation("xn--backups")).contains("reserved"))
        #expect(try #require(BucketNameRules.violation("backups-s3alias")).contains("reserved"))
    }
}
