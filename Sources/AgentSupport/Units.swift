import Logging

/// Byte sizes and durations as written in the config: `16MiB`, `20MiB/s`, `30s`, `26h`.
public enum Units {
    /// Parses `123`, `123B`, `5KiB`, `16MiB`, `1GiB`, `2TiB` (also `KB`/`MB`/`GB` as powers of 1000).
    public static func parseSize(_ text: String) -> Int64? {
        let trimmed = text.trimming(" \t")
        guard !trimmed.isEmpty else { return nil }
        var number = ""
        var unit = ""
        for ch in trimmed {
            if unit.isEmpty, ch.isNumber || ch == "." { number.append(ch) } else if ch != " " { unit.append(ch) }
        }
        guard let value = Double(number), value >= 0 else { return nil }
        let multipliers: [String: Double] = [
            "": 1, "b": 1,
            "k": 1024, "kib": 1024, "kb": 1000,
            "m": 1_048_576, "mib": 1_048_576, "mb": 1_000_000,
            "g": 1_073_741_824, "gib": 1_073_741_824, "gb": 1_000_000_000,
            "t": 1_099_511_627_776, "tib": 1_099_511_627_776, "tb": 1_000_000_000_000,
        ]
        guard let mult = multipliers[unit.lowercased()] else { return nil }
        let bytes = value * mult
        guard bytes < 9.0e18 else { return nil }
        return Int64(bytes.rounded())
    }

    /// Parses a rate such as `20MiB/s` (the `/s` is optional) into bytes per second.
    public static func parseRate(_ text: String) -> Int64? {
        var t = text.trimming(" \t")
        if t.lowercased().hasSuffix("/s") { t.removeLast(2) }
        return parseSize(t)
    }

    /// Parses `500ms`, `30s`, `5m`, `26h`, `7d` (or plain seconds, unless `requireUnit`: a
    /// command-line `--max-age 26` is more likely meant as hours than seconds) into seconds.
    public static func parseDuration(_ text: String, requireUnit: Bool = false) -> Double? {
        let trimmed = text.trimming(" \t")
        var number = ""
        var unit = ""
        for ch in trimmed {
            if unit.isEmpty, ch.isNumber || ch == "." { number.append(ch) } else if ch != " " { unit.append(ch) }
        }
        guard let value = Double(number), value >= 0 else { return nil }
        if requireUnit && unit.isEmpty { return nil }
        let seconds: Double
        switch unit.lowercased() {
        case "ms": seconds = value / 1000
        case "", "s": seconds = value
        case "m", "min": seconds = value * 60
        case "h": seconds = value * 3600
        case "d": seconds = value * 86400
        default: return nil
        }
        // `1e400s` would be infinite: no caller could turn it into a whole number of anything.
        return seconds.isFinite ? seconds : nil
    }

    /// `1.5 GiB`, `512 B`: a human-readable size.
    public static func formatSize(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var index = 0
        while value >= 1024, index < units.count - 1 {
            value /= 1024
            index += 1
        }
        if index == 0 { return "\(bytes) B" }
        return "\(formatFixed(value, digits: 1)) \(units[index])"
    }

    /// `12.3s`, `4m05s`, `1h02m`.
    /// The summary line of a transfer, as rclone prints it:
    /// "Transferred: 3 files, 5300 bytes (5.2 KiB) in 1.2s (4.3 KiB/s)". `rate` is bytes per second.
    public static func transferredLine(files: Int, bytes: Int64, seconds: Double, rate: Int64) -> String {
        "Transferred: \(files) files, \(bytes) bytes (\(formatSize(bytes))) in \(formatDuration(seconds)) (\(formatSize(rate))/s)"
    }

    /// The fields of a `Transferred:` or many-files summary event (numbers): files, bytes,
    /// seconds (to the millisecond) and the rate in bytes per second.
    public static func transferredMetadata(files: Int, bytes: Int64, seconds: Double, rate: Int64? = nil) -> Logger.Metadata {
        var m: Logger.Metadata = ["files": .stringConvertible(files), "bytes": .stringConvertible(bytes), "seconds": .stringConvertible((seconds * 1000).rounded() / 1000)]
        if let rate { m["rate"] = .stringConvertible(rate) }
        return m
    }

    public static func formatDuration(_ seconds: Double) -> String {
        if seconds < 60 { return "\(formatFixed(seconds, digits: 1))s" }
        let total = Int(seconds.rounded())
        let h = total / 3600
        let m = (total % 3600) / 60
        let s = total % 60
        if h > 0 { return "\(h)h\(pad2(m))m" }
        return "\(m)m\(pad2(s))s"
    }

    /// Fixed-point formatting without Foundation's `String(format:)`.
    public static func formatFixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return "0" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let whole = scaled / Int64(scale)
        var frac = String(scaled % Int64(scale))
        while frac.count < digits { frac = "0" + frac }
        let sign = value < 0 && scaled != 0 ? "-" : ""
        return digits == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(frac)"
    }

    private static func pad2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

extension StringProtocol {
    /// The first occurrence of `target`, compared by Unicode scalars (exact text, no grapheme
    /// rules: markers, URLs, templates, IDs). Not `firstRange(of:)`: that pulls in the 400 KB
    /// _StringProcessing code on the upload path, resident for the whole run (issue 12: peak RSS).
    public func range(ofScalars target: String) -> Range<Index>? {
        let needle = Array(target.unicodeScalars)
        guard let first = needle.first else { return nil }
        let scalars = unicodeScalars
        var start = scalars.startIndex
        while let i = scalars[start...].firstIndex(of: first) {
            var a = i, b = 0
            while b < needle.count, a < scalars.endIndex, scalars[a] == needle[b] {
                a = scalars.index(after: a)
                b += 1
            }
            if b == needle.count { return i..<a }
            start = scalars.index(after: i)
        }
        return nil
    }
}

extension String {
    /// Replaces every occurrence of `target`, compared by Unicode scalars (no Foundation needed).
    public func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let range = rest.range(ofScalars: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }

    /// Trims the given characters from both ends (no Foundation needed). Compared scalar by
    /// scalar: in " \t\r\n" the pair "\r\n" is one Character, yet a lone "\n" is trimmed too.
    public func trimming(_ set: String) -> String {
        let members = Set(set.unicodeScalars)
        func trimmed(_ c: Character) -> Bool { c.unicodeScalars.allSatisfy(members.contains) }
        var scalars = Substring(self)
        while let first = scalars.first, trimmed(first) { scalars.removeFirst() }
        while let last = scalars.last, trimmed(last) { scalars.removeLast() }
        return String(scalars)
    }
}

extension Sequence {
    /// The sum of `value` over the elements, stopping at Int64.max instead of trapping: totals of
    /// sizes read from files and servers must not crash on hostile values.
    public func saturatingSum(_ value: (Element) -> Int64) -> Int64 {
        var total: Int64 = 0
        for element in self {
            let (sum, overflow) = total.addingReportingOverflow(value(element))
            total = overflow ? (value(element) < 0 ? Int64.min : Int64.max) : sum
        }
        return total
    }
}
