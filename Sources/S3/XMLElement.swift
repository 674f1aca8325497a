/// A parsed XML element: enough of XML for S3's answers (no DTDs, namespaces reduced to local
/// names). Parsing is lenient: S3-compatible servers differ in root names and namespaces.
public final class XMLElement: @unchecked Sendable {
    public let name: String
    public private(set) var children: [XMLElement] = []
    public private(set) var text: String = ""

    init(name: String) { self.name = name }

    /// The first child with this local name.
    public func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }

    public func children(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }

    /// The trimmed text of the first child with this name.
    public func value(_ name: String) -> String? { child(name)?.trimmedText }

    public var trimmedText: String {
        var s = Substring(text)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }

    /// Parses a document and returns its root element, or nil when there is none.
    public static func parse(_ bytes: [UInt8]) -> XMLElement? {
        var parser = XMLParserState(bytes: bytes)
        return parser.parseDocument()
    }

    public static func parse(_ text: String) -> XMLElement? { parse(Array(text.utf8)) }

    fileprivate func append(_ child: XMLElement) { children.append(child) }
    fileprivate func appendText(_ t: String) { text += t }
}

private struct XMLParserState {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseDocument() -> XMLElement? {
        var stack: [XMLElement] = []
        var root: XMLElement?
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "<") {
                if starts(with: "<?") {
                    skip(past: "?>")
                } else if starts(with: "<!--") {
                    skip(past: "-->")
                } else if starts(with: "<![CDATA[") {
                    let start = i + 9
                    skip(past: "]]>")
                    let end = max(start, i - 3)
                    stack.last?.appendText(String(decoding: bytes[start..<end], as: UTF8.self))
                } else if starts(with: "<!") {
                    skip(past: ">")
                } else if starts(with: "</") {
                    i += 2
                    _ = readName()
                    skip(past: ">")
                    if let done = stack.popLast(), stack.isEmpty { root = root ?? done }
                } else {
                    i += 1
                    let name = readName()
                    // Attributes are not needed by any S3 answer we read: skip to the tag's end,
                    // respecting quoted values.
                    var selfClosing = false
                    var quote: UInt8 = 0
                    while i < bytes.count {
                        let c = bytes[i]
                        if quote != 0 {
                            if c == quote { quote = 0 }
                        } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                            quote = c
                        } else if c == UInt8(ascii: ">") {
                            selfClosing = i > 0 && bytes[i - 1] == UInt8(ascii: "/")
                            i += 1
                            break
                        }
                        i += 1
                    }
                    let element = XMLElement(name: localName(name))
                    if let parent = stack.last { parent.append(element) }
                    if selfClosing {
                        if stack.isEmpty { root = root ?? element }
                    } else {
                        stack.append(element)
                    }
                }
            } else {
                let start = i
                while i < bytes.count, bytes[i] != UInt8(ascii: "<") { i += 1 }
                if let current = stack.last {
                    current.appendText(decodeEntities(bytes[start..<i]))
                }
            }
        }
        // A truncated document still yields what was read.
        return root ?? stack.first
    }

    func starts(with prefix: String) -> Bool {
        let p = Array(prefix.utf8)
        guard i + p.count <= bytes.count else { return false }
        for k in 0..<p.count where bytes[i + k] != p[k] { return false }
        return true
    }

    mutating func skip(past terminator: String) {
        let t = Array(terminator.utf8)
        while i < bytes.count {
            if starts(with: terminator) {
                i += t.count
                return
            }
            i += 1
        }
    }

    mutating func readName() -> String {
        let start = i
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: " ") || c == UInt8(ascii: ">") || c == UInt8(ascii: "/") || c == UInt8(ascii: "\t")
                || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r")
            {
                break
            }
            i += 1
        }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    func localName(_ name: String) -> String {
        if let colon = name.lastIndex(of: ":") { return String(name[name.index(after: colon)...]) }
        return name
    }

    func decodeEntities(_ slice: ArraySlice<UInt8>) -> String {
        guard slice.contains(UInt8(ascii: "&")) else { return String(decoding: slice, as: UTF8.self) }
        var out = [UInt8]()
        out.reserveCapacity(slice.count)
        var k = slice.startIndex
        while k < slice.endIndex {
            let c = slice[k]
            if c == UInt8(ascii: "&"), let semi = slice[k...].firstIndex(of: UInt8(ascii: ";")), semi - k <= 10 {
                let entity = String(decoding: slice[(k + 1)..<semi], as: UTF8.self)
                var replacement: String?
                switch entity {
                case "amp": replacement = "&"
                case "lt": replacement = "<"
                case "gt": replacement = ">"
                case "quot": replacement = "\""
                case "apos": replacement = "'"
                default:
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X"), let v = UInt32(entity.dropFirst(2), radix: 16), let s = Unicode.Scalar(v) {
                        replacement = String(Character(s))
                    } else if entity.hasPrefix("#"), let v = UInt32(entity.dropFirst()), let s = Unicode.Scalar(v) {
                        replacement = String(Character(s))
                    }
                }
                if let r = replacement {
                    out.append(contentsOf: Array(r.utf8))
                    k = semi + 1
                    continue
                }
            }
            out.append(c)
            k += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Escapes text for an XML element body.
public func xmlEscape(_ text: String) -> String {
    var out = ""
    for ch in text {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default: out.append(ch)
        }
    }
    return out
}
