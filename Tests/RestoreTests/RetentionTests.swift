import AgentSupport
import S3
import Testing
import Vault

@testable import Restore

@Suite struct RetentionTests {
    static let now = Timestamp.parseISO8601("2026-12-31T00:00:00Z") ?? 0

    static func backup(_ id: String, daysOld: Int?, host: String = "web-01", complete: Bool = true) -> OffsiteBackup {
        let created = daysOld.map { Timestamp.iso8601(now - Int64($0) * 86400) }
        let manifest = complete ? OffsiteManifest(backup: id, host: host, createdAt: created, files: []) : nil
        return OffsiteBackup(id: id, manifest: manifest, objects: [])
    }

    static let backups = [
        backup("d40", daysOld: 40), backup("d20", daysOld: 20), backup("d10", daysOld: 10), backup("d1", daysOld: 1),
        backup("other-host-old", daysOld: 90, host: "db-01"), backup("incomplete", daysOld: nil, complete: false),
    ]

    @Test func keepDaysDeletesOlderBackupsOfThisHostOnly() {
        let (delete, keep) = RetentionPolicy(keepDays: 15, keepLast: nil).select(Self.backups, host: "web-01", now: Self.now)
        #expect(delete.map(\.id).sorted() == ["d20", "d40"])
        #expect(keep.map(\.id).sorted() == ["d1", "d10"])
    }

    @Test func keepLastKeepsTheNewestEvenWhenOld() {
        let (delete, keep) = RetentionPolicy(keepDays: 5, keepLast: 3).select(Self.backups, host: "web-01", now: Self.now)
        #expect(delete.map(\.id) == ["d40"])
        #expect(keep.map(\.id).sorted() == ["d1", "d10", "d20"])
    }

    @Test func keepLastAloneDeletesAllButTheNewest() {
        let (delete, _) = RetentionPolicy(keepDays: nil, keepLast: 2).select(Self.backups, host: "web-01", now: Self.now)
        #expect(delete.map(\.id).sorted() == ["d20", "d40"])
    }

    @Test func theNewestBackupIsNeverDeleted() {
        let old = [Self.backup("a", daysOld: 100), Self.backup("b", daysOld: 200)]
        let (delete, keep) = RetentionPolicy(keepDays: 0, keepLast: nil).select(old, host: "web-01", now: Self.now)
        #expect(keep.map(\.id) == ["a"])
        #expect(delete.map(\.id) == ["b"])
    }

    @Test func otherHostsAndIncompleteBackupsAreNeverSelected() {
        let (delete, keep) = RetentionPolicy(keepDays: 0, keepLast: 1).select(Self.backups, host: "db-01", now: Self.now)
        #expect(delete.isEmpty)
        #expect(keep.map(\.id) == ["other-host-old"])
    }

    @Test func undatedBackupsAreKept() {
        let list = [Self.backup("undated", daysOld: nil), Self.backup("new", daysOld: 1), Self.backup("old", daysOld: 50)]
        let (delete, keep) = RetentionPolicy(keepDays: 10, keepLast: 1).select(list, host: "web-01", now: Self.now)
        #expect(delete.map(\.id) == ["old"])
        #expect(Set(keep.map(\.id)) == ["undated", "new"])
    }

    @Test func retentionRefusalsAreRecognisedByTheirWords() {
        func error(_ code: String, _ message: String, status: Int = 403) -> S3ServiceError {
            S3ServiceError(status: status, code: code, message: message, requestID: "", details: [:], headers: [], operation: "DeleteObject")
        }
        #expect(Pruner.isRetentionRefusal(error("AccessDenied", "Access Denied because object protected by object lock.")))
        #expect(Pruner.isRetentionRefusal(error("InvalidRequest", "Object is WORM protected and cannot be overwritten", status: 400)))
        #expect(Pruner.isRetentionRefusal(error("AccessDenied", "The object is under legal hold")))
        #expect(!Pruner.isRetentionRefusal(error("AccessDenied", "Access Denied")))
        #expect(!Pruner.isRetentionRefusal(error("NoSuchKey", "retention")))
        // Review finding 14: the shared mapping decides first; a denial naming its action is a permission.
        #expect(Pruner.isRetentionRefusal(error("ObjectLocked", "")))
        #expect(Pruner.isRetentionRefusal(error("InvalidObjectState", "The object is locked", status: 400)))
        #expect(!Pruner.isRetentionRefusal(error("AccessDenied", "User: arn:aws:iam::1:user/b is not authorized to perform: s3:DeleteObjectVersion on resource: \"arn:aws:s3:::b/k\" because it is protected by an explicit deny")))
    }

    @Test func hugeKeepDaysKeepsEverythingInsteadOfTrapping() {
        let (delete, keep) = RetentionPolicy(keepDays: Int.max, keepLast: 1).select(Self.backups, host: "web-01", now: Self.now)
        #expect(delete.isEmpty)
        #expect(keep.map(\.id).sorted() == ["d1", "d10", "d20", "d40"])
        #expect(RetentionPolicy.isWithin(days: Int.max, date: 0, now: Self.now))
        #expect(RetentionPolicy.isWithin(days: 100_000, date: Self.now - 99_999 * 86400, now: Self.now))
        #expect(!RetentionPolicy.isWithin(days: 1, date: Self.now - 2 * 86400, now: Self.now))
    }

    @Test func extremeDatesDoNotTrap() {
        // An age beyond 64 bits: far in the past is old, far in the future is new.
        #expect(!RetentionPolicy.isWithin(days: 30, date: Int64.min, now: Self.now))
        #expect(RetentionPolicy.isWithin(days: 30, date: Int64.max, now: -Self.now))
        #expect(!RetentionPolicy.isWithin(days: Int.min, date: Self.now, now: Self.now))
    }
}
