/// A small JSON value with deterministic key order, for `--json` results and the journal.
/// Hand-rolled so the hot binary needs no Foundation for output.
public indirect enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (lhs: JSON, rhs: JSON) -> Bool { lhs.serialized() == rhs.serialized() }

    public subscript(key: String) -> JSON? {
        if case .object(let pairs) = self { return pairs.first(where: { $0.0 == key })?.1 }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 9e18: return Int64(d)
        default: return nil
        }
    }
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
    public var arrayValue: [JSON]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: [(String, JSON)]? { if case .object(let o) = self { return o } else { return nil } }

    /// Compact (one line) or indented text.
    public func serialized(pretty: Bool = false) -> String {
        var out = ""
        write(to: &out, pretty: pretty, indent: 0)
        return out
    }

    private func write(to out: inout String, pretty: Bool, indent: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isFinite { out += d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d) } else { out += "null" }
        case .string(let s): JSON.escape(s, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
                item.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { out += "\n" + String(repeating: "  ", count: indent) }
            out += "]"
        case .object(let pairs):
            if pairs.isEmpty { out += "{}"; return }
            out += "{"
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out += pretty ? "," : ", " }
                if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
                JSON.escape(key, into: &out)
                out += ": "
                value.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { out += "\n" + String(repeating: "  ", count: indent) }
            out += "}"
        }
    }

    static func escape(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

/// Why a text is not a JSON document we accept: what was wrong and at which byte.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var offset: Int

    public var description: String { "\(reason) at byte \(offset)" }
}

extension JSON {
    /// Deepest nesting of arrays and objects accepted. Every document the agent reads (journal,
    /// restore journal, offsite manifest, instance metadata) nests a handful of levels; the bound
    /// keeps hostile input from exhausting the stack, while parsing and when the value is freed.
    public static let maxDepth = 128

    /// Parses JSON text; nil when it is not a JSON document (see `decode` for the reason).
    public static func parse(_ text: String) -> JSON? {
        try? decode(text)
    }

    /// Parses JSON text, or says why it cannot: any byte sequence gives a value or an error, never
    /// a crash. Unpaired UTF-16 surrogates in `\u` escapes become U+FFFD; invalid UTF-8 too.
    public static func decode(_ text: String) throws(JSONParseError) -> JSON {
        try decode(bytes: Array(text.utf8))
    }

    public static func decode(bytes: [UInt8]) throws(JSONParseError) -> JSON {
        var parser = JSONParser(bytes)
        let value = try parser.parseValue(depth: 0)
        parser.skipSpace()
        guard parser.atEnd else { throw parser.failure("text after the end of the document") }
        return value
    }
}

struct JSONParser {
    let bytes: [UInt8]
    var i = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var atEnd: Bool { i >= bytes.count }

    func failure(_ reason: String) -> JSONParseError { JSONParseError(reason: reason, offset: i) }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0a || bytes[i] == 0x0d || bytes[i] == 0x09 { i += 1 }
    }

    /// Expects `byte` after optional white space; a missing one is a truncated or malformed document.
    mutating func expect(_ byte: UInt8, _ what: String) throws(JSONParseError) {
        skipSpace()
        guard i < bytes.count else { throw failure("the document ends early (truncated?): \(what) expected") }
        guard bytes[i] == byte else { throw failure("\(what) expected") }
        i += 1
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSON {
        skipSpace()
        guard i < bytes.count else { throw failure("the document ends early (truncated?): a value expected") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            guard depth < JSON.maxDepth else { throw failure("nested deeper than \(JSON.maxDepth) levels") }
            i += 1
            var pairs: [(String, JSON)] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
            while true {
                skipSpace()
                let key = try parseString()
                try expect(UInt8(ascii: ":"), "':'")
                let value = try parseValue(depth: depth + 1)
                pairs.append((key, value))
                skipSpace()
                guard i < bytes.count else { throw failure("the document ends early (truncated?): ',' or '}' expected") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
                throw failure("',' or '}' expected")
            }
        case UInt8(ascii: "["):
            guard depth < JSON.maxDepth else { throw failure("nested deeper than \(JSON.maxDepth) levels") }
            i += 1
            var items: [JSON] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                items.append(try parseValue(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw failure("the document ends early (truncated?): ',' or ']' expected") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw failure("',' or ']' expected")
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default: return try parseNumber()
        }
    }

    mutating func literal(_ word: StaticString, _ value: JSON) throws(JSONParseError) -> JSON {
        let count = word.utf8CodeUnitCount
        guard bytes.count - i >= count else { throw failure("the document ends early (truncated?)") }
        let matches = word.withUTF8Buffer { w in (0..<count).allSatisfy { bytes[i + $0] == w[$0] } }
        guard matches else { throw failure("unknown word") }
        i += count
        return value
    }

    /// RFC 8259 numbers: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    mutating func parseNumber() throws(JSONParseError) -> JSON {
        let start = i
        func digits(_ p: inout JSONParser) -> Int {
            let from = p.i
            while p.i < p.bytes.count, p.bytes[p.i] >= 48, p.bytes[p.i] <= 57 { p.i += 1 }
            return p.i - from
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        let intDigits = digits(&self)
        guard intDigits > 0 else { throw failure(i == start ? "a value expected" : "a digit expected") }
        if intDigits > 1, bytes[i - intDigits] == 48 { throw failure("a number with a leading zero") }
        var isDouble = false
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits(&self) > 0 else { throw failure("a digit expected after '.'") }
            isDouble = true
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits(&self) > 0 else { throw failure("a digit expected in the exponent") }
            isDouble = true
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        // Integers beyond Int64 are kept as (inexact) doubles; callers range-check what they use.
        if !isDouble, let v = Int64(text) { return .int(v) }
        guard let d = Double(text), d.isFinite else { throw JSONParseError(reason: "a number out of range", offset: start) }
        return .double(d)
    }

    /// Four hex digits of a `\u` escape, without allocating.
    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard bytes.count - i >= 4 else { throw failure("the document ends early (truncated?) in a \\u escape") }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = bytes[i + k]
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 65...70: d = UInt32(c - 55)
            case 97...102: d = UInt32(c - 87)
            default: throw JSONParseError(reason: "a \\u escape needs four hex digits", offset: i + k)
            }
            v = v << 4 | d
        }
        i += 4
        return v
    }

    mutating func parseString() throws(JSONParseError) -> String {
        guard i < bytes.count else { throw failure("the document ends early (truncated?): a string expected") }
        guard bytes[i] == UInt8(ascii: "\"") else { throw failure("a string expected") }
        let start = i
        i += 1
        var out = [UInt8]()
        while i < bytes.count {
            let c = bytes[i]
            i += 1
            if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                continue
            }
            guard i < bytes.count else { break }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if code >= 0xD800, code < 0xDC00 {
                    // A high surrogate counts only with a low one right after it; alone it is
                    // replaced (U+FFFD) and what follows is read on its own.
                    if bytes.count - i >= 6, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                        let saved = i
                        i += 2
                        let low = try hex4()
                        if low >= 0xDC00, low < 0xE000 {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            i = saved
                            code = 0xFFFD
                        }
                    } else {
                        code = 0xFFFD
                    }
                }
                // Lone low surrogates (and nothing else) fail Unicode.Scalar's check.
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: String(Character(scalar)).utf8)
            default:
                throw JSONParseError(reason: "an unknown escape", offset: i - 2)
            }
        }
        throw JSONParseError(reason: "the document ends early (truncated?) in a string", offset: start)
    }
}
