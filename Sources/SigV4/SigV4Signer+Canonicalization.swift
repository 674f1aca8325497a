/// Step 1 of https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
/// ("Create a canonical request") with the S3 rules of
/// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html.
extension SigV4Signer {
    /// The canonical request and its `SignedHeaders` list:
    /// `METHOD\nURI\nQUERY\nHEADERS\n\nSIGNED_HEADERS\nPAYLOAD_HASH`.
    public static func canonicalRequest(
        method: String, path: String, query: [(name: String, value: String?)], headers: [(name: String, value: String)],
        payloadHash: String
    ) -> (text: String, signedHeaders: String) {
        let canonical = canonicalHeaders(headers)
        let text = [
            method, canonicalURI(path), canonicalQuery(query), canonical.text, canonical.signedHeaders, payloadHash,
        ].joined(separator: "\n")
        return (text, canonical.signedHeaders)
    }

    /// The raw path URI-encoded once with "/" kept; "/" when empty. S3 never normalizes the path:
    /// `//a/./b/..` is signed as given, since it names a different object than `/a`.
    public static func canonicalURI(_ path: String) -> String {
        path.isEmpty ? "/" : uriEncode(path, encodeSlash: false)
    }

    /// Names and values URI-encoded (a missing value is empty), sorted by name then value in
    /// byte order, joined as `name=value&…`.
    public static func canonicalQuery(_ query: [(name: String, value: String?)]) -> String {
        query
            .map { (name: uriEncode($0.name, encodeSlash: true), value: uriEncode($0.value ?? "", encodeSlash: true)) }
            .sorted { lhs, rhs in
                lhs.name == rhs.name
                    ? lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
                    : lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
            }
            .map { "\($0.name)=\($0.value)" }
            .joined(separator: "&")
    }

    /// The header block (each `name:value\n`) and the `SignedHeaders` list (`a;b;c`).
    /// Names are lowercased; values trimmed with inner whitespace runs collapsed to one space;
    /// repeated headers joined with "," in request order; sorted by name. Headers in
    /// ``unsignedHeaders`` are left out.
    public static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (
        text: String, signedHeaders: String
    ) {
        var valuesByName: [String: [String]] = [:]
        for header in headers {
            let name = asciiLowercased(header.name)
            guard !unsignedHeaders.contains(name) else { continue }
            valuesByName[name, default: []].append(collapsingWhitespace(header.value))
        }
        let names = valuesByName.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var text = ""
        for name in names {
            text += "\(name):\(valuesByName[name, default: []].joined(separator: ","))\n"
        }
        return (text, names.joined(separator: ";"))
    }

    /// S3 rules: percent-encode every byte except A-Z a-z 0-9 - . _ ~ (and "/" when encodeSlash is false),
    /// uppercase hex, exactly once. A space is `%20`, never `+`.
    public static func uriEncode(_ string: String, encodeSlash: Bool) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(string.utf8.count)
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where !encodeSlash:
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0f)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lowercases A-Z only: header names are ASCII tokens, and locale rules must not apply.
    static func asciiLowercased(_ string: String) -> String {
        String(decoding: string.utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// Trims the value and collapses each inner run of spaces, tabs and line breaks (left by
    /// obs-fold continuation lines) to a single space.
    static func collapsingWhitespace(_ value: String) -> String {
        var out = [UInt8]()
        var pendingSpace = false
        for byte in value.utf8 {
            if byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(0x20) }
                pendingSpace = false
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
