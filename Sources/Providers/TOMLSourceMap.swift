/// Where each key of a TOML document was written: TOMLKit reports lines for syntax errors only,
/// and its tables forget the order of their keys, so this light scan of the text recovers both
/// for error messages ("file:line") and for listing vaults in file order.
package struct TOMLSourceMap: Sendable {
    /// Key path (table headers and keys, dotted keys split) -> first line it appears on, 1-based.
    private var lines: [[String]: Int] = [:]

    package init(text: String) {
        var tablePath: [String] = []
        var scanner = ValueScanner()
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = Array(rawLine.unicodeScalars)
            if scanner.isInsideValue {
                scanner.scan(line, from: 0)
                continue
            }
            var i = line.firstIndex { $0 != " " && $0 != "\t" } ?? line.count
            guard i < line.count, line[i] != "#", line[i] != "\r" else { continue }
            if line[i] == "[" {
                let isArrayTable = i + 1 < line.count && line[i + 1] == "["
                i += isArrayTable ? 2 : 1
                if let (path, _) = Self.parseKey(line, from: i) {
                    tablePath = path
                    record(path, lineNumber)
                }
                continue
            }
            guard let (key, end) = Self.parseKey(line, from: i) else { continue }
            record(tablePath + key, lineNumber)
            var j = end
            while j < line.count, line[j] == " " || line[j] == "\t" { j += 1 }
            if j < line.count, line[j] == "=" { scanner.scan(line, from: j + 1) }
        }
    }

    /// The line of `path`, else of its nearest enclosing table or key that was written out.
    package func line(of path: [String]) -> Int? {
        var p = path
        while !p.isEmpty {
            if let line = lines[p] { return line }
            p.removeLast()
        }
        return nil
    }

    /// The first line on which `path` or anything under it appears.
    package func firstLine(under path: [String]) -> Int? {
        lines.filter { $0.key.starts(with: path) }.map(\.value).min()
    }

    private mutating func record(_ path: [String], _ line: Int) {
        guard !path.isEmpty else { return }
        for length in 1...path.count {
            let prefix = Array(path.prefix(length))
            if lines[prefix] == nil { lines[prefix] = line }
        }
    }

    /// A dotted key at `start`: bare, "basic" or 'literal' parts. Returns the parts and the index after the key.
    static func parseKey(_ line: [Unicode.Scalar], from start: Int) -> ([String], Int)? {
        var parts: [String] = []
        var i = start
        while true {
            while i < line.count, line[i] == " " || line[i] == "\t" { i += 1 }
            guard i < line.count else { return nil }
            var part = ""
            if line[i] == "\"" || line[i] == "'" {
                let quote = line[i]
                i += 1
                while i < line.count, line[i] != quote {
                    if quote == "\"", line[i] == "\\", i + 1 < line.count { i += 1 }
                    part.unicodeScalars.append(line[i])
                    i += 1
                }
                guard i < line.count else { return nil }
                i += 1
            } else {
                while i < line.count, isBareKeyScalar(line[i]) {
                    part.unicodeScalars.append(line[i])
                    i += 1
                }
                if part.isEmpty { return nil }
            }
            parts.append(part)
            while i < line.count, line[i] == " " || line[i] == "\t" { i += 1 }
            if i < line.count, line[i] == "." {
                i += 1
                continue
            }
            return (parts, i)
        }
    }

    private static func isBareKeyScalar(_ s: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || s == "_" || s == "-"
    }

    /// Follows a value across lines: multi-line strings and arrays, so their contents are not
    /// mistaken for keys.
    struct ValueScanner {
        var multilineDelimiter: Unicode.Scalar?
        var depth = 0
        var isInsideValue: Bool { multilineDelimiter != nil || depth > 0 }

        mutating func scan(_ line: [Unicode.Scalar], from start: Int) {
            var i = start
            while i < line.count {
                if let quote = multilineDelimiter {
                    if line[i] == "\\", quote == "\"" {
                        i += 2
                        continue
                    }
                    if isTripleQuote(line, i, quote) {
                        multilineDelimiter = nil
                        i += 3
                    } else {
                        i += 1
                    }
                    continue
                }
                let c = line[i]
                switch c {
                case "#": return
                case "[", "{": depth += 1
                case "]", "}": depth = max(0, depth - 1)
                case "\"", "'":
                    if isTripleQuote(line, i, c) {
                        multilineDelimiter = c
                        i += 3
                        continue
                    }
                    i += 1
                    while i < line.count, line[i] != c {
                        if c == "\"", line[i] == "\\" { i += 1 }
                        i += 1
                    }
                default: break
                }
                i += 1
            }
        }

        private func isTripleQuote(_ line: [Unicode.Scalar], _ i: Int, _ quote: Unicode.Scalar) -> Bool {
            i + 2 < line.count && line[i] == quote && line[i + 1] == quote && line[i + 2] == quote
        }
    }
}
