/// A parsed XML element: enough of XML for S3's answers (no DTDs, namespaces reduced to local
/// names). Lenient where S3-compatible servers differ (root names, namespaces, attributes), strict
/// where a server's answer is damaged or hostile: bounded depth and size, matching closing tags,
/// no truncated documents.
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

    /// Parses a document and returns its root element, or nil when it is not a whole document
    /// (see `decode` for the reason).
    public static func parse(_ bytes: [UInt8]) -> XMLElement? {
        try? decode(bytes)
    }

    public static func parse(_ text: String) -> XMLElement? { parse(Array(text.utf8)) }

    /// Deepest nesting accepted: S3 answers nest four or five levels.
    public static let maxDepth = 64
    /// Most elements in one document: a 1000-entry listing page has about 10,000.
    public static let maxElements = 200_000

    /// Parses a document, or says why it is not one: any byte sequence gives the root element or
    /// an error, never a crash. Closing tags must match their opening tags; a document that ends
    /// before its root element closes (a truncated answer) is refused.
    public static func decode(_ bytes: [UInt8]) throws(XMLParseError) -> XMLElement {
        var parser = XMLParserState(bytes: bytes)
        return try parser.parseDocument()
    }

    fileprivate func append(_ child: XMLElement) { children.append(child) }
    fileprivate func appendText(_ t: String) { text += t }
}

/// Why bytes are not an XML document we read, and where.
public struct XMLParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var offset: Int
    public var description: String { "\(reason) at byte \(offset)" }
}

private struct XMLParserState {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func failure(_ reason: String) -> XMLParseError { XMLParseError(reason: reason, offset: i) }

    mutating func parseDocument() throws(XMLParseError) -> XMLElement {
        // Open elements with the raw (prefixed) name their closing tag must repeat.
        var stack: [(element: XMLElement, rawName: String)] = []
        var elements = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "<") {
                if starts(with: "<?") {
                    try skip(past: "?>")
                } else if starts(with: "<!--") {
                    try skip(past: "-->")
                } else if starts(with: "<![CDATA[") {
                    let start = i + 9
                    try skip(past: "]]>")
                    stack.last?.element.appendText(String(decoding: bytes[start..<(i - 3)], as: UTF8.self))
                } else if starts(with: "<!") {
                    try skip(past: ">")
                } else if starts(with: "</") {
                    let at = i
                    i += 2
                    let name = readName()
                    while i < bytes.count, isSpace(bytes[i]) { i += 1 }
                    guard i < bytes.count else { throw failure("the document ends inside a closing tag (truncated?)") }
                    guard bytes[i] == UInt8(ascii: ">") else { throw failure("'>' expected after </\(name)") }
                    i += 1
                    guard let open = stack.popLast() else { throw XMLParseError(reason: "</\(name)> closes nothing", offset: at) }
                    guard open.rawName == name else {
                        throw XMLParseError(reason: "</\(name)> closes <\(open.rawName)>", offset: at)
                    }
                    // Whatever follows the root element (white space, a trailing comment) is ignored.
                    if stack.isEmpty { return open.element }
                } else {
                    let at = i
                    i += 1
                    let name = readName()
                    guard !name.isEmpty else { throw XMLParseError(reason: "'<' not followed by a name", offset: at) }
                    // Attributes are not needed by any S3 answer we read: skip to the tag's end,
                    // respecting quoted values.
                    var selfClosing = false
                    var closed = false
                    var quote: UInt8 = 0
                    while i < bytes.count {
                        let c = bytes[i]
                        if quote != 0 {
                            if c == quote { quote = 0 }
                        } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                            quote = c
                        } else if c == UInt8(ascii: ">") {
                            selfClosing = bytes[i - 1] == UInt8(ascii: "/")
                            i += 1
                            closed = true
                            break
                        }
                        i += 1
                    }
                    guard closed else { throw failure("the document ends inside <\(name)> (truncated?)") }
                    elements += 1
                    guard elements <= XMLElement.maxElements else { throw failure("more than \(XMLElement.maxElements) elements") }
                    let element = XMLElement(name: localName(name))
                    if let parent = stack.last { parent.element.append(element) }
                    if selfClosing {
                        if stack.isEmpty { return element }
                    } else {
                        guard stack.count < XMLElement.maxDepth else { throw failure("nested deeper than \(XMLElement.maxDepth) levels") }
                        stack.append((element, name))
                    }
                }
            } else {
                let start = i
                while i < bytes.count, bytes[i] != UInt8(ascii: "<") { i += 1 }
                if let current = stack.last {
                    current.element.appendText(decodeEntities(bytes[start..<i]))
                }
            }
        }
        if let open = stack.last { throw failure("the document ends before </\(open.rawName)> (truncated?)") }
        throw failure("no XML element")
    }

    func isSpace(_ c: UInt8) -> Bool {
        c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r")
    }

    func starts(with prefix: String) -> Bool {
        let p = Array(prefix.utf8)
        guard i + p.count <= bytes.count else { return false }
        for k in 0..<p.count where bytes[i + k] != p[k] { return false }
        return true
    }

    mutating func skip(past terminator: String) throws(XMLParseError) {
        let t = Array(terminator.utf8)
        let start = i
        while i < bytes.count {
            if starts(with: terminator) {
                i += t.count
                return
            }
            i += 1
        }
        throw XMLParseError(reason: "the document ends before \(terminator) (truncated?)", offset: start)
    }

    mutating func readName() -> String {
        let start = i
        while i < bytes.count {
            let c = bytes[i]
            if isSpace(c) || c == UInt8(ascii: ">") || c == UInt8(ascii: "/") {
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
