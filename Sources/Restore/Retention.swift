import AgentSupport

/// How many offsite backups to keep: those younger than `keepDays`, and always the `keepLast`
/// newest (at least one: prune never deletes a host's last backup).
public struct RetentionPolicy: Sendable, Equatable {
    public var keepDays: Int?
    public var keepLast: Int?

    public init(keepDays: Int?, keepLast: Int?) {
        self.keepDays = keepDays
        self.keepLast = keepLast
    }

    public var isSet: Bool { keepDays != nil || keepLast != nil }

    /// The newest backups always kept.
    public var minimumKept: Int { max(1, keepLast ?? 1) }

    /// One line for humans: "keep 30 days, at least the 7 newest".
    public var description: String {
        var parts: [String] = []
        if let d = keepDays { parts.append("backups newer than \(d) days") }
        parts.append("the \(minimumKept) newest")
        return "keep " + parts.joined(separator: " and at least ")
    }

    /// Which of `backups` go: complete backups of `host` only, newest first kept.
    public func select(_ backups: [OffsiteBackup], host: String, now: Int64) -> (delete: [OffsiteBackup], keep: [OffsiteBackup]) {
        let ours = backups.filter { $0.manifest?.host == host }
        // An undated backup cannot be judged by age: it is kept, and does not count as one of the newest.
        let dated = ours.filter { $0.date != nil }.sorted { ($0.date ?? 0, $0.id) > ($1.date ?? 0, $1.id) }
        var delete: [OffsiteBackup] = []
        var keep = ours.filter { $0.date == nil }
        for (rank, backup) in dated.enumerated() {
            if rank < minimumKept {
                keep.append(backup)
            } else if let days = keepDays, let date = backup.date, Self.isWithin(days: days, date: date, now: now) {
                keep.append(backup)
            } else {
                delete.append(backup)
            }
        }
        return (delete, keep)
    }

    /// Whether `date` is at most `days` days before `now`; a window or an age too large for
    /// 64 bits saturates instead of trapping.
    static func isWithin(days: Int, date: Int64, now: Int64) -> Bool {
        let (window, windowOverflow) = Int64(days).multipliedReportingOverflow(by: 86400)
        if windowOverflow { return days > 0 }
        let (age, ageOverflow) = now.subtractingReportingOverflow(date)
        if ageOverflow { return date > now }
        return age <= window
    }
}
