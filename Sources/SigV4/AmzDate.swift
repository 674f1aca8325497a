/// UTC timestamps for signing (`X-Amz-Date`) and for reading a server's `Date` header.
///
/// See https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
/// ("Step 3: Create a string to sign", RequestDateTime) and RFC 7231 section 7.1.1.1.
public enum AmzDate {
    /// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years four digits can write.
    static let supportedRange: ClosedRange<Int64> = -62_167_219_200...253_402_300_799

    /// `YYYYMMDDTHHMMSSZ` (ISO 8601 basic format, UTC). Times outside years 0000 to 9999 are clamped.
    public static func format(_ epochSeconds: Int64) -> String {
        let clamped = min(max(epochSeconds, supportedRange.lowerBound), supportedRange.upperBound)
        let (days, secondOfDay) = floorDivide(clamped, 86_400)
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        var out = ""
        out.reserveCapacity(16)
        out += digits(year, 4) + digits(month, 2) + digits(day, 2) + "T"
        out += digits(secondOfDay / 3600, 2) + digits(secondOfDay / 60 % 60, 2) + digits(secondOfDay % 60, 2) + "Z"
        return out
    }

    /// Seconds since the Unix epoch for an RFC 7231 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`),
    /// an ISO 8601 timestamp (`2013-05-24T00:00:00Z`, optional fraction, `Z` or `±HH:MM`), or an
    /// `X-Amz-Date` value (`20130524T000000Z`). Nil for anything else or an impossible date.
    public static func parseHTTPDate(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        return parseIMFFixdate(bytes) ?? parseISO8601(bytes) ?? parseAmzDate(bytes)
    }

    // MARK: Parsing

    private static let weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Sun, 06 Nov 1994 08:49:37 GMT`
    private static func parseIMFFixdate(_ b: [UInt8]) -> Int64? {
        guard b.count == 29, weekdays.contains(text(b, 0, 3)), text(b, 3, 2) == ", ", b[7] == 0x20, b[11] == 0x20,
            b[16] == 0x20, text(b, 25, 4) == " GMT", let monthIndex = months.firstIndex(of: text(b, 8, 3)),
            let day = number(b, 5, 2), let year = number(b, 12, 4), let time = clockTime(b, 17)
        else { return nil }
        return epochSeconds(year: year, month: Int64(monthIndex) + 1, day: day, secondOfDay: time)
    }

    /// `2013-05-24T00:00:00Z`, `2013-05-24T00:00:00.000Z`, `2013-05-24T02:00:00+02:00`
    private static func parseISO8601(_ b: [UInt8]) -> Int64? {
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
            b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
            let year = number(b, 0, 4), let month = number(b, 5, 2), let day = number(b, 8, 2),
            let time = clockTime(b, 11)
        else { return nil }
        var i = 19
        if b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.count, isDigit(b[i]) { i += 1 }
            guard i > start, i < b.count else { return nil }
        }
        let offset: Int64
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard i + 1 == b.count else { return nil }
            offset = 0
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard i + 6 == b.count, b[i + 3] == UInt8(ascii: ":"), let hours = number(b, i + 1, 2),
                let minutes = number(b, i + 4, 2), hours < 24, minutes < 60
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
        default:
            return nil
        }
        return epochSeconds(year: year, month: month, day: day, secondOfDay: time).map { $0 - offset }
    }

    /// `20130524T000000Z`
    private static func parseAmzDate(_ b: [UInt8]) -> Int64? {
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z"),
            let year = number(b, 0, 4), let month = number(b, 4, 2), let day = number(b, 6, 2),
            let hour = number(b, 9, 2), let minute = number(b, 11, 2), let second = number(b, 13, 2),
            hour < 24, minute < 60, second <= 60
        else { return nil }
        return epochSeconds(year: year, month: month, day: day, secondOfDay: hour * 3600 + minute * 60 + second)
    }

    /// `HH:MM:SS` at `start`, as seconds of the day (a leap second 60 is accepted).
    private static func clockTime(_ b: [UInt8], _ start: Int) -> Int64? {
        guard start + 8 <= b.count, b[start + 2] == UInt8(ascii: ":"), b[start + 5] == UInt8(ascii: ":"),
            let hour = number(b, start, 2), let minute = number(b, start + 3, 2), let second = number(b, start + 6, 2),
            hour < 24, minute < 60, second <= 60
        else { return nil }
        return hour * 3600 + minute * 60 + second
    }

    private static func number(_ b: [UInt8], _ start: Int, _ count: Int) -> Int64? {
        guard start >= 0, start + count <= b.count else { return nil }
        var value: Int64 = 0
        for byte in b[start..<start + count] {
            guard isDigit(byte) else { return nil }
            value = value * 10 + Int64(byte - 48)
        }
        return value
    }

    private static func text(_ b: [UInt8], _ start: Int, _ count: Int) -> String {
        String(decoding: b[start..<min(start + count, b.count)], as: UTF8.self)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (48...57).contains(byte) }

    // MARK: Calendar (proleptic Gregorian, after Howard Hinnant's days_from_civil/civil_from_days)

    private static func epochSeconds(year: Int64, month: Int64, day: Int64, secondOfDay: Int64) -> Int64? {
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month) else { return nil }
        return daysSinceEpoch(year: year, month: month, day: day) * 86_400 + secondOfDay
    }

    private static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400).quotient
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let (era, dayOfEra) = floorDivide(daysSinceEpoch + 719_468, 146_097)
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let remainder = value % divisor
        return remainder < 0 ? (value / divisor - 1, remainder + divisor) : (value / divisor, remainder)
    }

    private static func digits(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
