import AgentSupport

/// One table of a parsed TOML file with typed, validated access to its keys. Every problem
/// becomes an `INVALID_CONFIG` error naming the file, the line and the field.
package struct TOMLSection {
    /// Where the document came from ("/etc/offsite-agent/agent.toml", "built-in profile r2").
    package let file: String
    package let table: TOMLTable
    /// This table's key path from the document root; empty for the root.
    package let path: [String]
    /// The line this table's name was first written on; nil for the root.
    package let line: Int?

    /// Parses `text`; malformed TOML is `INVALID_CONFIG` with the file, line and column, and the
    /// `TOMLParseError` as its `cause`.
    package static func parse(_ text: String, file: String) throws(AgentError) -> TOMLSection {
        do {
            return TOMLSection(file: file, table: try TOMLTable.parse(text), path: [], line: nil)
        } catch {
            throw error.agentError(file: file)
        }
    }

    /// The keys of this table, in file order.
    package var keys: [String] { table.keys }

    package func contains(_ key: String) -> Bool { table[key] != nil }

    /// `file:line` of `key` (or of this table when nil, or when it has no such key).
    package func location(_ key: String? = nil) -> String {
        if let key, let at = table.position(of: key), at.line > 0 { return "\(file):\(at.line)" }
        if let line, line > 0 { return "\(file):\(line)" }
        return file
    }

    /// The dotted name of `key` as written in the file: `multipart.min_part_size`, `terms.permissions."s3:PutObject"`.
    package func fieldName(_ key: String) -> String {
        (path + [key]).map { part in
            part.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
                ? part : "\"\(part)\""
        }.joined(separator: ".")
    }

    /// An `INVALID_CONFIG` error located at `key`: `file:line: field `key`: message`.
    package func error(_ key: String?, _ message: String, hint: String) -> AgentError {
        let field = key.map { "`\(fieldName($0))` " } ?? (path.isEmpty ? "" : "[\(path.joined(separator: "."))] ")
        return AgentError(.invalidConfig, "\(location(key)): \(field)\(message)", hint: hint)
    }

    /// Rejects keys outside `allowed` (typos would otherwise be silently ignored).
    package func rejectUnknownKeys(allowed: Set<String>, hint: String) throws {
        for key in keys where !allowed.contains(key) {
            let suggestion = Self.closest(to: key, in: allowed).map { "did you mean `\($0)`? " } ?? ""
            throw error(key, "is not a known setting", hint: suggestion + hint)
        }
    }

    /// The known key a typo most likely meant: the nearest by edit distance, when it is near
    /// (at most a third of the key's length, and 3) and the only one that near.
    package static func closest(to key: String, in known: Set<String>) -> String? {
        let limit = min(3, max(1, key.count / 3))
        let scored = known.map { ($0, editDistance(key.lowercased(), $0)) }.filter { $0.1 <= limit }
        guard let best = scored.map(\.1).min() else { return nil }
        let ties = scored.filter { $0.1 == best }.map(\.0).sorted()
        return ties.count == 1 ? ties[0] : nil
    }

    /// Levenshtein distance (insert, delete, substitute).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    // MARK: - Typed values

    package func string(_ key: String) throws -> String? {
        guard let value = table[key] else { return nil }
        guard let s = value.string else { throw typeError(key, value, "a string") }
        return s
    }

    package func bool(_ key: String) throws -> Bool? {
        guard let value = table[key] else { return nil }
        guard let b = value.bool else { throw typeError(key, value, "true or false") }
        return b
    }

    package func int(_ key: String) throws -> Int? {
        guard let value = table[key] else { return nil }
        guard let i = value.int else { throw typeError(key, value, "an integer") }
        return i
    }

    package func stringArray(_ key: String) throws -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw typeError(key, value, "an array of strings") }
        var strings: [String] = []
        for item in array {
            guard let s = item.string else { throw typeError(key, value, "an array of strings") }
            strings.append(s)
        }
        return strings
    }

    /// A size: `"16MiB"`, `"512KiB"`, `"100B"` or a plain number of bytes.
    package func size(_ key: String) throws -> Int64? {
        guard let value = table[key] else { return nil }
        if let i = value.int, i >= 0 { return Int64(i) }
        if let s = value.string, let bytes = Units.parseSize(s) { return bytes }
        throw error(key, "is not a size: \(Self.display(value))", hint: "write a size such as \"16MiB\", \"512KiB\" or a number of bytes")
    }

    /// A rate in bytes per second: `"20MiB/s"`, `"1KiB/s"` or a plain number.
    package func rate(_ key: String) throws -> Int64? {
        guard let value = table[key] else { return nil }
        if let i = value.int, i >= 0 { return Int64(i) }
        if let s = value.string, let bytes = Units.parseRate(s) { return bytes }
        throw error(key, "is not a rate: \(Self.display(value))", hint: "write a rate such as \"20MiB/s\" or \"1KiB/s\"")
    }

    /// A duration in seconds: `"500ms"`, `"30s"`, `"5m"`, `"2h"` or a plain number of seconds.
    package func duration(_ key: String) throws -> Double? {
        guard let value = table[key] else { return nil }
        if let i = value.int, i >= 0 { return Double(i) }
        if let d = value.double, d >= 0, d.isFinite { return d }
        if let s = value.string, let seconds = Units.parseDuration(s) { return seconds }
        throw error(key, "is not a duration: \(Self.display(value))", hint: "write a duration such as \"30s\", \"500ms\", \"5m\" or \"2h\"")
    }

    /// A sub-table; nil when absent.
    package func section(_ key: String) throws -> TOMLSection? {
        guard let value = table[key] else { return nil }
        guard let sub = value.table else { throw typeError(key, value, "a table") }
        return TOMLSection(file: file, table: sub, path: path + [key], line: table.position(of: key)?.line)
    }

    /// A value that must be present.
    package func required<T>(_ key: String, _ read: (String) throws -> T?) throws -> T {
        guard let value = try read(key) else {
            throw error(
                nil, "is missing the required setting `\(fieldName(key))`", hint: "add `\(key) = ...` to \(path.isEmpty ? file : "[\(path.joined(separator: "."))] in \(file)")")
        }
        return value
    }

    private func typeError(_ key: String, _ value: TOMLValue, _ expected: String) -> AgentError {
        error(key, "must be \(expected), not \(value.type)", hint: "set `\(key)` to \(expected)")
    }

    /// A value as written, for messages. Only used on settings that are not secrets.
    private static func display(_ value: TOMLValue) -> String {
        if let s = value.string { return "\"\(s)\"" }
        if let i = value.int { return String(i) }
        return value.type.description
    }
}

extension TOMLParseError {
    /// What an operator reads (the one place a TOML refusal becomes words):
    /// `INVALID_CONFIG` "FILE:LINE:COLUMN: malformed TOML: WHY", with this error as its cause.
    package func agentError(file: String) -> AgentError {
        let place = line > 0 ? "\(file):\(line):\(max(column, 1))" : file
        let hint: String
        switch reason {
        case .outOfMemory: hint = "free memory on this server, or check that \(file) is the small text file it should be"
        case .invalidTableHeader:
            hint = "a table header is `[name]` or `[[name]]`: fix the one on line \(line) of \(file) (see https://toml.io)"
        case .syntax, .parserCheckFailed, .unsupportedValueType:
            hint = line > 0 ? "fix the TOML syntax on line \(line) of \(file) (see https://toml.io)" : "fix the TOML syntax of \(file) (see https://toml.io)"
        }
        return AgentError(.invalidConfig, "\(place): malformed TOML: \(description)", hint: hint, cause: self)
    }
}
