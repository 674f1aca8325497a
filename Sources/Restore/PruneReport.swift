import AgentSupport

/// What `agent prune` deleted, kept, and could not delete.
public struct PruneReport: Sendable {
    /// An object the vault refused to delete because Object Lock or a legal hold protects it.
    public struct Held: Sendable {
        public var backup: String
        public var key: String
        public var reason: String
    }

    public var vault: String
    public var host: String
    public var policy: RetentionPolicy
    public var dryRun: Bool
    /// Backups deleted (or, with `dryRun`, that would be).
    public var deleted: [OffsiteBackup] = []
    public var kept: [OffsiteBackup] = []
    public var held: [Held] = []
    /// Backups the policy would delete that are still under Object Lock retention: kept, with
    /// the date their retention ends.
    public var locked: [(backup: OffsiteBackup, retainUntil: Int64, mode: String)] = []
    /// Object versions and delete markers deleted by VersionId (versioned, locked buckets).
    public var versionsDeleted = 0
    /// Backups an interrupted prune had started deleting, finished by this run.
    public var finishedEarlier: [String] = []
    /// Why each kept backup stays ("newest", "within 30 days", "daily 2026-11-26"), by backup id.
    public var keptBy: [String: [String]] = [:]

    public init(vault: String, host: String, policy: RetentionPolicy, dryRun: Bool) {
        self.vault = vault
        self.host = host
        self.policy = policy
        self.dryRun = dryRun
    }

    public func json() -> JSON {
        func entry(_ b: OffsiteBackup) -> JSON {
            var fields: [(String, JSON)] = [
                ("id", .string(b.id)), ("date", b.date.map { .string(Timestamp.iso8601($0)) } ?? .null), ("size", .int(b.size)), ("files", .int(Int64(b.fileCount))),
            ]
            if let reasons = keptBy[b.id] { fields.append(("kept_by", .array(reasons.map { .string($0) }))) }
            return .object(fields)
        }
        func count(_ n: Int?) -> JSON { n.map { .int(Int64($0)) } ?? .null }
        return .object([
            ("ok", .bool(true)), ("vault", .string(vault)), ("host", .string(host)), ("dry_run", .bool(dryRun)),
            ("keep_days", policy.keepDays.map { .int(Int64($0)) } ?? .null), ("keep_last", .int(Int64(policy.minimumKept))),
            ("keep_daily", count(policy.keepDaily)), ("keep_weekly", count(policy.keepWeekly)), ("keep_monthly", count(policy.keepMonthly)),
            ("keep_yearly", count(policy.keepYearly)),
            ("deleted", .array(deleted.map(entry))), ("kept", .array(kept.map(entry))),
            ("held", .array(held.map { .object([("backup", .string($0.backup)), ("key", .string($0.key)), ("reason", .string($0.reason))]) })),
            ("finished_earlier", .array(finishedEarlier.map { .string($0) })),
            (
                "locked",
                .array(
                    locked.map { l in
                        .object([
                            ("id", .string(l.backup.id)), ("date", l.backup.date.map { .string(Timestamp.iso8601($0)) } ?? .null),
                            ("mode", .string(l.mode)), ("retain_until", .string(Timestamp.iso8601(l.retainUntil))),
                        ])
                    })
            ),
            ("versions_deleted", .int(Int64(versionsDeleted))),
        ])
    }
}
