import Foundation

/// A request file of the fixtures: `METHOD SP target SP HTTP/1.1`, header lines, a blank line, the body.
///
/// The request line is split at its first and last space (the target may hold spaces); a line
/// starting with a space or tab continues the previous header (obs-fold, joined with one space).
struct HTTPRequestText {
    var method: String
    /// The raw request-target: path, then `?` and the query string if there is one.
    var target: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    init?(_ data: Data) {
        let bytes = [UInt8](data)
        let headEnd = Self.blankLine(in: bytes)
        let head = String(decoding: bytes[..<(headEnd ?? bytes.count)], as: UTF8.self)
        body = headEnd.map { Array(bytes[($0 + 2)...]) } ?? []

        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard let requestLine = lines.first, let first = requestLine.firstIndex(of: " "),
            let last = requestLine.lastIndex(of: " "), first < last
        else { return nil }
        method = String(requestLine[..<first])
        target = String(requestLine[requestLine.index(after: first)..<last])

        headers = []
        for line in lines.dropFirst() {
            if line.first == " " || line.first == "\t" {
                guard !headers.isEmpty else { return nil }
                headers[headers.count - 1].value += " " + line
            } else {
                guard let colon = line.firstIndex(of: ":") else { return nil }
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
    }

    /// The target's path, raw.
    var path: String {
        String(target.prefix { $0 != "?" })
    }

    /// The target's query, split on `&` and at each pair's first `=`, percent-decoded;
    /// a pair without `=` has a nil value.
    var query: [(name: String, value: String?)] {
        guard let mark = target.firstIndex(of: "?") else { return [] }
        return Self.query(of: target[target.index(after: mark)...])
    }

    /// A query string split and decoded as ``query`` describes.
    static func query(of text: some StringProtocol) -> [(name: String, value: String?)] {
        text.split(separator: "&").map { pair in
            guard let equals = pair.firstIndex(of: "=") else { return (Self.percentDecoded(pair), nil) }
            return (Self.percentDecoded(pair[..<equals]), Self.percentDecoded(pair[pair.index(after: equals)...]))
        }
    }

    /// Values of every header with this name (case-insensitive), in request order.
    func values(of name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// `%XX` decoded to bytes; `+` stays `+` (this is not form encoding).
    static func percentDecoded(_ text: some StringProtocol) -> String {
        let utf8 = Array(text.utf8)
        var out = [UInt8]()
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "%"), i + 2 < utf8.count,
                let byte = UInt8(String(decoding: utf8[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
            {
                out.append(byte)
                i += 3
            } else {
                out.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Index of the `\n` that ends the header block (the first of `\n\n`).
    private static func blankLine(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 2 else { return nil }
        return (0..<(bytes.count - 1)).first { bytes[$0] == 0x0a && bytes[$0 + 1] == 0x0a }
    }
}
