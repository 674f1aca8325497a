/// The response header lines of one transfer, as libcurl's header callback hands them over (one
/// line per call, its CR LF included), read into `(name, value)` pairs. A server's bytes: any
/// sequence gives pairs, never a crash, and what is kept is bounded.
/// - A status line (`HTTP/...`) starts a new response (after `100 Continue`, an informational
///   answer or a redirect curl does not follow): the pairs so far are dropped.
/// - `Name: value` — the name as written (lookups ignore case), the value without surrounding
///   blanks. A name that is empty or holds a character RFC 9110's `token` has not (a space before
///   the colon, a control byte) makes the line ignored, as RFC 9112 5.1 says a server must not send.
/// - An obsolete folded line (starting with a space or tab) continues the previous value, joined
///   by one space (RFC 9112 5.2); before any header it is ignored.
/// - Bytes that are not UTF-8 become U+FFFD; the blank line that ends the headers is nothing.
/// - At most `maxHeaders` pairs and `maxBytes` of names and values are kept; the rest is dropped
///   (`dropped` counts the lines). S3 answers hold a few dozen short headers.
package struct ResponseHeaderParser: Sendable {
    package static let maxHeaders = 256
    package static let maxBytes = 128 << 10

    package private(set) var headers: [(name: String, value: String)] = []
    /// Header lines of the current response not kept (over a bound, or malformed).
    package private(set) var dropped = 0
    private var keptBytes = 0
    /// Whether the previous line was a kept header (a folded line may continue it).
    private var canFold = false

    package init() {}

    /// Reads one callback's bytes. Several lines (not what libcurl does, but any bytes are
    /// accepted) are read one by one.
    package mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            line(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            start = end + 1
        }
    }

    package mutating func consume(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { consume($0) }
    }

    /// One line without its LF (a CR before it is a line end too).
    private mutating func line(_ raw: UnsafeRawBufferPointer) {
        var end = raw.count
        while end > 0, raw[end - 1] == 0x0D || raw[end - 1] == 0x0A { end -= 1 }
        let line = UnsafeRawBufferPointer(rebasing: raw[0..<end])
        if line.starts(with: Self.statusPrefix) {
            headers.removeAll(keepingCapacity: true)
            keptBytes = 0
            dropped = 0
            canFold = false
            return
        }
        guard let first = line.first else { return }  // the blank line after the headers
        if Self.isBlank(first) {
            guard canFold else {
                dropped += 1
                return
            }
            let more = Self.trimmed(line)
            guard !more.isEmpty else { return }
            guard keptBytes + more.count + 1 <= Self.maxBytes else {
                dropped += 1
                canFold = false
                return
            }
            let last = headers.count - 1
            headers[last].value += (headers[last].value.isEmpty ? "" : " ") + String(decoding: more, as: UTF8.self)
            keptBytes += more.count + 1
            return
        }
        guard let colon = line.firstIndex(of: 0x3A), colon > 0, line[..<colon].allSatisfy(Self.isTokenByte) else {
            dropped += 1
            canFold = false
            return
        }
        let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
        let value = Self.trimmed(UnsafeRawBufferPointer(rebasing: line[(colon + 1)...]))
        guard headers.count < Self.maxHeaders, keptBytes + name.count + value.count <= Self.maxBytes else {
            dropped += 1
            canFold = false
            return
        }
        headers.append((name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
        keptBytes += name.count + value.count
        canFold = true
    }

    private static let statusPrefix = Array("HTTP/".utf8)

    private static func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

    /// RFC 9110 5.6.2 `tchar`: visible ASCII but for the delimiters.
    package static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"): return true
        default: return tokenPunctuation.contains(c)
        }
    }

    private static let tokenPunctuation = Array("!#$%&'*+-.^_`|~".utf8)

    /// Without leading and trailing spaces, tabs and CRs.
    private static func trimmed(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var start = 0
        var end = bytes.count
        while start < end, isBlank(bytes[start]) || bytes[start] == 0x0D { start += 1 }
        while end > start, isBlank(bytes[end - 1]) || bytes[end - 1] == 0x0D { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }
}
