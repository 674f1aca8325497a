import AgentSupport

/// How many offsite backups to keep: those younger than `keepDays`, the `keepLast` newest (at
/// least one: prune never deletes a host's last backup), and the calendar rules `keep_daily`,
/// `keep_weekly`, `keep_monthly`, `keep_yearly` as restic's `forget` understands them: for each
/// of the last N days (ISO weeks, months, years) that have a backup, the newest backup of that
/// period is kept; when fewer such periods exist than N, the oldest backup is kept too (as
/// restic 0.14+ does), so a young history is never thinned below what the rule asks for.
/// Periods are UTC calendar periods of the backup's date (restic uses the local time of the
/// machine running `forget`; UTC makes every host and workstation prune a bucket alike). A pure
/// function of its inputs.
public struct RetentionPolicy: Sendable, Equatable {
    public var keepDays: Int?
    public var keepLast: Int?
    public var keepDaily: Int?
    public var keepWeekly: Int?
    public var keepMonthly: Int?
    public var keepYearly: Int?

    public init(keepDays: Int?, keepLast: Int?, keepDaily: Int? = nil, keepWeekly: Int? = nil, keepMonthly: Int? = nil, keepYearly: Int? = nil) {
        self.keepDays = keepDays
        self.keepLast = keepLast
        self.keepDaily = keepDaily
        self.keepWeekly = keepWeekly
        self.keepMonthly = keepMonthly
        self.keepYearly = keepYearly
    }

    public var isSet: Bool { keepDays != nil || keepLast != nil || !calendarRules.isEmpty }

    /// The newest backups always kept.
    public var minimumKept: Int { max(1, keepLast ?? 1) }

    /// The calendar rules that are set, shortest period first.
    public var calendarRules: [(period: CalendarPeriod, count: Int)] {
        [(CalendarPeriod.daily, keepDaily), (.weekly, keepWeekly), (.monthly, keepMonthly), (.yearly, keepYearly)]
            .compactMap { rule in rule.1.map { (rule.0, $0) } }
    }

    /// One line for humans: "keep backups newer than 30 days and at least the 7 newest, 7 daily, 4 weekly".
    public var description: String {
        var parts: [String] = []
        if let d = keepDays { parts.append("backups newer than \(d) days") }
        parts.append("the \(minimumKept) newest")
        var text = "keep " + parts.joined(separator: " and at least ")
        let calendar = calendarRules.map { "\($0.count) \($0.period.rawValue)" }
        if !calendar.isEmpty { text += ", " + calendar.joined(separator: ", ") }
        return text
    }

    /// One backup's verdict: kept by these rules (empty: deleted).
    public struct Decision: Sendable, Equatable {
        public var id: String
        /// "newest", "last 3", "within 30 days", "daily 2026-11-26", "oldest weekly", "undated".
        public var reasons: [String]
        public var keep: Bool { !reasons.isEmpty }
    }

    /// The verdict on every complete backup of `host`, newest first (undated ones last, kept).
    public func decide(_ backups: [OffsiteBackup], host: String, now: Int64) -> [Decision] {
        let ours = backups.filter { $0.manifest?.host == host }
        // An undated backup cannot be judged by age: it is kept, and does not count as one of the newest.
        let dated = ours.filter { $0.date != nil }.sorted { ($0.date ?? 0, $0.id) > ($1.date ?? 0, $1.id) }
        var decisions: [Decision] = []
        var last: [CalendarPeriod: Int64] = [:]
        var left: [CalendarPeriod: Int] = [:]
        for rule in calendarRules { left[rule.period] = rule.count }
        for (rank, backup) in dated.enumerated() {
            let date = backup.date ?? 0
            var reasons: [String] = []
            if rank < minimumKept { reasons.append(keepLast == nil ? "newest" : "last \(minimumKept)") }
            if let days = keepDays, Self.isWithin(days: days, date: date, now: now) { reasons.append("within \(days) days") }
            for rule in calendarRules {
                guard let remaining = left[rule.period], remaining > 0 else { continue }
                let bucket = rule.period.bucket(date)
                if bucket != last[rule.period] {
                    reasons.append("\(rule.period.rawValue) \(rule.period.label(date))")
                    last[rule.period] = bucket
                    left[rule.period] = remaining - 1
                } else if rank == dated.count - 1 {
                    reasons.append("oldest \(rule.period.rawValue)")
                    left[rule.period] = remaining - 1
                }
            }
            decisions.append(Decision(id: backup.id, reasons: reasons))
        }
        for backup in ours where backup.date == nil { decisions.append(Decision(id: backup.id, reasons: ["undated"])) }
        return decisions
    }

    /// Which of `backups` go: complete backups of `host` only, newest first kept.
    public func select(_ backups: [OffsiteBackup], host: String, now: Int64) -> (delete: [OffsiteBackup], keep: [OffsiteBackup]) {
        let decisions = decide(backups, host: host, now: now)
        let kept = Set(decisions.filter(\.keep).map(\.id))
        let judged = Set(decisions.map(\.id))
        let ours = backups.filter { judged.contains($0.id) && $0.manifest?.host == host }
        let order = Dictionary(decisions.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        let sorted = ours.sorted { (order[$0.id] ?? 0) < (order[$1.id] ?? 0) }
        return (sorted.filter { !kept.contains($0.id) }, sorted.filter { kept.contains($0.id) })
    }

    /// Why each kept backup stays, by backup id (for `prune --dry-run` and `--json`).
    public func keepReasons(_ backups: [OffsiteBackup], host: String, now: Int64) -> [String: [String]] {
        var reasons: [String: [String]] = [:]
        for d in decide(backups, host: host, now: now) where d.keep { reasons[d.id] = d.reasons }
        return reasons
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
