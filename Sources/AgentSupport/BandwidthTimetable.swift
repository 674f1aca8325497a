#if canImport(Glibc)
    import Glibc
#endif

/// `bandwidth_limit` as rclone's `--bwlimit` timetable: `"08:00,2MiB/s 19:00,20MiB/s 23:00,off"`,
/// entries optionally for one weekday (`"Mon-08:00,2MiB/s Sat-00:00,off"`). Each entry's rate holds
/// from its time until the next entry's; before the first entry of the week the last one still
/// holds (the table wraps around). Times are the server's local time. `off` means unlimited.
/// A plain rate (`"20MiB/s"`) is a table with one all-week entry.
public struct BandwidthTimetable: Sendable, Equatable, CustomStringConvertible {
    public struct Entry: Sendable, Equatable {
        /// 0 = Monday ... 6 = Sunday; nil = every day.
        public var weekday: Int?
        /// Minutes after local midnight.
        public var minute: Int
        /// Bytes per second; 0 = no limit.
        public var rate: Int64
    }

    /// As written, in order.
    public var entries: [Entry]

    public static let weekdayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    static let longWeekdayNames = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

    public init(entries: [Entry]) { self.entries = entries }

    /// A constant limit (bytes per second; 0 = none).
    public static func constant(_ rate: Int64) -> BandwidthTimetable { BandwidthTimetable(entries: [Entry(weekday: nil, minute: 0, rate: rate)]) }

    /// True when it is a table with times, not a single rate.
    public var isTimetable: Bool { entries.count > 1 || entries.first.map { $0.minute != 0 || $0.weekday != nil } ?? false }

    /// Why a timetable could not be read (the value is not a secret: it may be quoted).
    public struct ParseError: Error, Sendable, Equatable {
        public var message: String
    }

    /// Parses a timetable or a plain rate.
    public static func parse(_ text: String) -> Result<BandwidthTimetable, ParseError> {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard !tokens.isEmpty else { return .failure(ParseError(message: "is empty")) }
        if tokens.count == 1, !tokens[0].contains(",") {
            guard let rate = parseRate(tokens[0]) else {
                return .failure(ParseError(message: "\"\(tokens[0])\" is not a rate, \"off\", or a timetable"))
            }
            return .success(.constant(rate))
        }
        var entries: [Entry] = []
        var seen: Set<Int> = []
        for token in tokens {
            let pieces = token.split(separator: ",", omittingEmptySubsequences: false)
            guard pieces.count == 2 else {
                return .failure(ParseError(message: "entry \"\(token)\" is not TIME,RATE (e.g. 08:00,2MiB/s or Mon-08:00,off)"))
            }
            var when = Substring(pieces[0])
            var weekday: Int?
            if let dash = when.firstIndex(of: "-") {
                let name = when[..<dash].lowercased()
                guard let day = weekdayNames.firstIndex(where: { $0.lowercased() == name }) ?? longWeekdayNames.firstIndex(of: name) else {
                    return .failure(ParseError(message: "entry \"\(token)\": \"\(when[..<dash])\" is not a weekday (Mon, Tue, Wed, Thu, Fri, Sat, Sun)"))
                }
                weekday = day
                when = when[when.index(after: dash)...]
            }
            let clock = when.split(separator: ":", omittingEmptySubsequences: false)
            guard clock.count == 2, clock[0].count == 2, clock[1].count == 2, let h = Int(clock[0]), let m = Int(clock[1]), (0...23).contains(h), (0...59).contains(m) else {
                return .failure(ParseError(message: "entry \"\(token)\": \"\(when)\" is not a time HH:MM between 00:00 and 23:59"))
            }
            if pieces[1].contains(":") {
                return .failure(ParseError(message: "entry \"\(token)\": separate upload:download rates are not supported; give one rate for both"))
            }
            guard let rate = parseRate(String(pieces[1])) else {
                return .failure(ParseError(message: "entry \"\(token)\": \"\(pieces[1])\" is not a rate (e.g. 2MiB/s) or \"off\""))
            }
            let key = (weekday ?? 7) * 1440 + h * 60 + m
            guard seen.insert(key).inserted else {
                return .failure(ParseError(message: "entry \"\(token)\" repeats a time already given"))
            }
            entries.append(Entry(weekday: weekday, minute: h * 60 + m, rate: rate))
        }
        return .success(BandwidthTimetable(entries: entries))
    }

    /// `off` (0), or a positive rate.
    static func parseRate(_ text: String) -> Int64? {
        if text.lowercased() == "off" { return 0 }
        guard let rate = Units.parseRate(text), rate > 0 else { return nil }
        return rate
    }

    /// The limit (bytes/s, 0 = none) at `minuteOfWeek` (Monday 00:00 = 0).
    public func rate(minuteOfWeek: Int) -> Int64 {
        let points = weeklyPoints()
        guard let last = points.last else { return 0 }
        var current = last.rate
        for p in points where p.at <= minuteOfWeek { current = p.rate }
        return current
    }

    /// The limit at `epoch` in the server's local time zone.
    public func rate(at epoch: Int64) -> Int64 { rate(minuteOfWeek: Self.minuteOfWeek(epoch)) }

    /// Every entry placed in the week (an every-day entry seven times), by time; an entry for one
    /// weekday wins over an every-day entry at the same minute.
    func weeklyPoints() -> [(at: Int, rate: Int64)] {
        var points: [Int: (rate: Int64, specific: Bool)] = [:]
        for e in entries {
            for day in e.weekday.map({ [$0] }) ?? Array(0..<7) {
                let at = day * 1440 + e.minute
                if let existing = points[at], existing.specific, e.weekday == nil { continue }
                points[at] = (e.rate, e.weekday != nil)
            }
        }
        return points.keys.sorted().map { ($0, points[$0]?.rate ?? 0) }
    }

    /// Minutes since Monday 00:00 of `epoch` in local time (TZ honoured).
    public static func minuteOfWeek(_ epoch: Int64) -> Int {
        var t = time_t(epoch)
        var parts = tm()
        guard localtime_r(&t, &parts) != nil else { return 0 }
        let weekday = (Int(parts.tm_wday) + 6) % 7
        return weekday * 1440 + Int(parts.tm_hour) * 60 + Int(parts.tm_min)
    }

    /// Every rate divided by `shares` (vaults sending at once share the agent-wide limit).
    public func divided(by shares: Int) -> BandwidthTimetable {
        guard shares > 1 else { return self }
        return BandwidthTimetable(entries: entries.map { e in
            var e = e
            if e.rate > 0 { e.rate = max(1, e.rate / Int64(shares)) }
            return e
        })
    }

    /// `"08:00 2 MiB/s, 19:00 20 MiB/s, 23:00 off"`: the parsed table for `config check`.
    public var description: String {
        if !isTimetable { return Self.format(entries.first?.rate ?? 0) }
        return entries.map { e in
            let day = e.weekday.map { Self.weekdayNames[$0] + "-" } ?? ""
            let h = e.minute / 60, m = e.minute % 60
            return "\(day)\(h < 10 ? "0" : "")\(h):\(m < 10 ? "0" : "")\(m) \(Self.format(e.rate))"
        }.joined(separator: ", ")
    }

    public static func format(_ rate: Int64) -> String { rate == 0 ? "off" : "\(Units.formatSize(rate))/s" }
}
