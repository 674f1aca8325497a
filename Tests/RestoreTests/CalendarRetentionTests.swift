import AgentSupport
import Testing
import Vault

@testable import Restore

/// Calendar retention (`keep_daily` ... `keep_yearly`) as restic's `forget` understands it.
@Suite struct CalendarRetentionTests {
    static let now = Timestamp.parseISO8601("2026-12-31T12:00:00Z") ?? 0

    static func backup(_ id: String, _ created: String, host: String = "web-01") -> OffsiteBackup {
        OffsiteBackup(id: id, manifest: OffsiteManifest(backup: id, host: host, createdAt: created, files: []), objects: [])
    }

    /// Spread over three years: two on the newest day, a busy week, one a month, one a year.
    static let spread = [
        backup("d0a", "2026-12-31T03:00:00Z"), backup("d0b", "2026-12-31T01:00:00Z"),
        backup("d1", "2026-12-30T03:00:00Z"), backup("d2", "2026-12-29T03:00:00Z"),
        backup("w51-sun", "2026-12-20T03:00:00Z"), backup("w51-wed", "2026-12-16T03:00:00Z"),
        backup("nov", "2026-11-15T03:00:00Z"), backup("oct", "2026-10-01T03:00:00Z"),
        backup("y2025", "2025-06-01T03:00:00Z"), backup("y2024", "2024-03-01T03:00:00Z"),
        backup("other-host", "2020-01-01T00:00:00Z", host: "db-01"),
    ]

    @Test func eachRuleKeepsTheNewestBackupOfItsLastPeriods() {
        let policy = RetentionPolicy(keepDays: nil, keepLast: nil, keepDaily: 3, keepWeekly: 2, keepMonthly: 2, keepYearly: 2)
        let (delete, keep) = policy.select(Self.spread, host: "web-01", now: Self.now)
        // d0b shares d0a's day; w51-wed shares w51-sun's ISO week; oct and y2024 are past every rule.
        #expect(delete.map(\.id) == ["d0b", "w51-wed", "oct", "y2024"])
        #expect(keep.map(\.id) == ["d0a", "d1", "d2", "w51-sun", "nov", "y2025"])
        let reasons = policy.keepReasons(Self.spread, host: "web-01", now: Self.now)
        #expect(reasons["d0a"] == ["newest", "daily 2026-12-31", "weekly 2026-W53", "monthly 2026-12", "yearly 2026"])
        #expect(reasons["w51-sun"] == ["weekly 2026-W51"])
        #expect(reasons["nov"] == ["monthly 2026-11"])
        #expect(reasons["y2025"] == ["yearly 2025"])
        #expect(reasons["oct"] == nil)
    }

    @Test func periodsWithoutABackupDoNotCount() {
        // keep_daily 2 keeps the newest of the last two days *that have a backup*, however far apart.
        let policy = RetentionPolicy(keepDays: nil, keepLast: nil, keepDaily: 2)
        let (delete, _) = policy.select(Self.spread, host: "web-01", now: Self.now)
        #expect(!delete.map(\.id).contains("d1"))
        #expect(delete.map(\.id).contains("d2"))
    }

    @Test func theOldestBackupIsKeptWhileARuleHasPeriodsLeft() {
        let young = [Self.backup("dec-2", "2026-12-02T03:00:00Z"), Self.backup("dec-1", "2026-12-01T03:00:00Z"), Self.backup("nov-30", "2026-11-30T03:00:00Z"),
                     Self.backup("nov-29", "2026-11-29T03:00:00Z")]
        let policy = RetentionPolicy(keepDays: nil, keepLast: nil, keepMonthly: 6)
        let (delete, _) = policy.select(young, host: "web-01", now: Self.now)
        #expect(delete.map(\.id) == ["dec-1"])
        #expect(policy.keepReasons(young, host: "web-01", now: Self.now)["nov-29"] == ["oldest monthly"])
    }

    @Test func calendarRulesAddToKeepDaysAndKeepLast() {
        let policy = RetentionPolicy(keepDays: 5, keepLast: 2, keepYearly: 3)
        let (delete, keep) = policy.select(Self.spread, host: "web-01", now: Self.now)
        #expect(Set(keep.map(\.id)) == ["d0a", "d0b", "d1", "d2", "y2025", "y2024"])
        #expect(delete.map(\.id) == ["w51-sun", "w51-wed", "nov", "oct"])
        #expect(policy.isSet)
        #expect(RetentionPolicy(keepDays: nil, keepLast: nil, keepWeekly: 1).isSet)
        #expect(!RetentionPolicy(keepDays: nil, keepLast: nil).isSet)
    }

    @Test func isoWeeksFollowTheStandard() {
        func week(_ s: String) -> String { CalendarPeriod.weekly.label(Timestamp.parseISO8601(s) ?? 0) }
        #expect(week("2021-01-03T12:00:00Z") == "2020-W53")  // a Sunday still in 2020's last week
        #expect(week("2021-01-04T00:00:00Z") == "2021-W01")
        #expect(week("2024-12-30T00:00:00Z") == "2025-W01")  // a Monday already in 2025's first week
        #expect(week("2026-12-31T23:59:59Z") == "2026-W53")
    }
}
