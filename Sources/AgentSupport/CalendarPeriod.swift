/// The calendar periods a UTC time falls in: day, ISO 8601 week, month, year. Used by
/// calendar retention (`keep_daily`, `keep_weekly`, ...), which compares periods, never durations.
public enum CalendarPeriod: String, Sendable, CaseIterable {
    case daily, weekly, monthly, yearly

    /// A value equal for two times exactly when they fall in the same period (UTC).
    public func bucket(_ epoch: Int64) -> Int64 {
        let (y, m, d, _, _, _) = Timestamp.civil(epoch)
        switch self {
        case .daily: return Int64(y) * 10_000 + Int64(m) * 100 + Int64(d)
        case .weekly:
            let week = Self.isoWeek(epoch)
            return Int64(week.year) * 100 + Int64(week.week)
        case .monthly: return Int64(y) * 100 + Int64(m)
        case .yearly: return Int64(y)
        }
    }

    /// The ISO 8601 week-numbering year and week (1...53) of `epoch` (UTC): weeks start on
    /// Monday, and week 1 is the one holding the year's first Thursday.
    public static func isoWeek(_ epoch: Int64) -> (year: Int, week: Int) {
        let days = epoch >= 0 ? epoch / 86400 : (epoch - 86399) / 86400
        // 1970-01-01 was a Thursday: Monday-based weekday 3.
        let weekday = ((days + 3) % 7 + 7) % 7
        let thursday = days - weekday + 3
        let (year, _, _, _, _, _) = Timestamp.civil(thursday * 86400)
        let dayOfYear = thursday - Timestamp.daysFromCivil(year, 1, 1)
        return (year, Int(dayOfYear / 7) + 1)
    }

    /// "2026-11-26", "2026-W48", "2026-11", "2026": the period as an operator reads it.
    public func label(_ epoch: Int64) -> String {
        let (y, m, d, _, _, _) = Timestamp.civil(epoch)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        switch self {
        case .daily: return "\(y)-\(two(m))-\(two(d))"
        case .weekly:
            let w = Self.isoWeek(epoch)
            return "\(w.year)-W\(two(w.week))"
        case .monthly: return "\(y)-\(two(m))"
        case .yearly: return "\(y)"
        }
    }
}
