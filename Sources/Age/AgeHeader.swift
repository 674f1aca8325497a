/// The age v1 header (C2SP age.md): version line, recipient stanzas, MAC.
public struct AgeHeader: Sendable {
    public struct Stanza: Sendable, Equatable {
        public var type: String
        public var arguments: [String]
        public var body: [UInt8]
    }

    public static let versionLine = "age-encryption.org/v1"
    /// Bound on a header read from outside: far above any real header (one stanza per recipient).
    public static let maxLength = 1 << 20
    static let x25519Label = "age-encryption.org/v1/X25519"

    public var stanzas: [Stanza]
    public var mac: [UInt8]
    /// The header's bytes from the version line up to and including `---` (what the MAC covers).
    public var macInput: [UInt8]
    /// The whole encoded header, including the MAC line.
    public var encoded: [UInt8]

    // MARK: writing

    /// A new header wrapping `fileKey` to each recipient (fresh ephemeral key per stanza).
    public static func seal(fileKey: [UInt8], to recipients: [AgeRecipient]) -> AgeHeader? {
        guard fileKey.count == 16, !recipients.isEmpty else { return nil }
        let aead = ChaChaPoly()
        var stanzas: [Stanza] = []
        for r in recipients {
            guard let ephemeral = AgePrimitives.random(32), let share = AgePrimitives.x25519Public(ephemeral),
                let shared = AgePrimitives.x25519(ephemeral, r.publicKey),
                let wrapKey = AgePrimitives.hkdf(ikm: shared, salt: share + r.publicKey, info: x25519Label),
                let body = aead.seal(key: wrapKey, nonce: [UInt8](repeating: 0, count: 12), plaintext: fileKey)
            else { return nil }
            stanzas.append(Stanza(type: "X25519", arguments: [AgeBase64.encode(share)], body: body))
        }
        var text = versionLine + "\n"
        for s in stanzas { text += encodeStanza(s) }
        text += "---"
        let macInput = Array(text.utf8)
        guard let macKey = AgePrimitives.hkdf(ikm: fileKey, salt: [], info: "header") else { return nil }
        let mac = macInput.withUnsafeBytes { AgePrimitives.hmacSHA256(key: macKey, data: $0) }
        let encoded = macInput + Array((" " + AgeBase64.encode(mac) + "\n").utf8)
        return AgeHeader(stanzas: stanzas, mac: mac, macInput: macInput, encoded: encoded)
    }

    package static func encodeStanza(_ s: Stanza) -> String {
        var text = "-> " + ([s.type] + s.arguments).joined(separator: " ") + "\n"
        let b64 = Array(AgeBase64.encode(s.body).utf8)
        var i = 0
        while true {
            let end = min(i + 64, b64.count)
            text += String(decoding: b64[i..<end], as: UTF8.self) + "\n"
            if end - i < 64 { break }
            i = end
        }
        return text
    }

    // MARK: reading

    /// Parses the header at the start of `bytes`; returns it and the offset where the payload begins.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<(header: AgeHeader, payloadOffset: Int), AgeError> {
        var pos = 0
        func line() -> ArraySlice<UInt8>? {
            guard pos < bytes.count else { return nil }
            let limit = min(bytes.count, pos + maxLength)
            var end = pos
            while end < limit, bytes[end] != 0x0a { end += 1 }
            guard end < limit else { return nil }
            let l = Array(bytes[pos..<end])[...]
            pos = end + 1
            return l
        }
        guard let version = line() else { return .failure(.header("the file is not an age file (no header)")) }
        guard String(decoding: version, as: UTF8.self) == versionLine, version.allSatisfy({ $0 >= 32 && $0 < 127 }) else {
            return .failure(.header("not an age v1 file (the first line is not \(versionLine))"))
        }
        var stanzas: [Stanza] = []
        while true {
            let start = pos
            guard let l = line() else { return .failure(.header("the header ends before its MAC line")) }
            guard pos <= maxLength else { return .failure(.header("the header is longer than \(maxLength) bytes")) }
            if l.starts(with: Array("---".utf8)) {
                let macInput = Array(bytes[0..<(start + 3)])
                let rest = l.dropFirst(3)
                guard rest.first == 0x20 else { return .failure(.header("the MAC line is malformed")) }
                let b64 = rest.dropFirst()
                guard b64.count == 43, let mac = AgeBase64.decode(b64), mac.count == 32 else {
                    return .failure(.header("the header MAC is malformed"))
                }
                let encoded = Array(bytes[0..<pos])
                return .success((AgeHeader(stanzas: stanzas, mac: mac, macInput: macInput, encoded: encoded), pos))
            }
            guard l.starts(with: Array("-> ".utf8)) else { return .failure(.header("a header line is neither a stanza nor the MAC")) }
            let fields = l.dropFirst(3).split(separator: 0x20, omittingEmptySubsequences: false)
            guard !fields.isEmpty, fields.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0 >= 33 && $0 <= 126 } }) else {
                return .failure(.header("a stanza has an empty or invalid argument"))
            }
            var body: [UInt8] = []
            while true {
                guard let b = line() else { return .failure(.header("a stanza body is not terminated")) }
                guard b.count <= 64, b.allSatisfy(AgeBase64.isAlphabet) else { return .failure(.header("a stanza body line is malformed")) }
                body += b
                if b.count < 64 { break }
                if stanzas.count > 10_000 || body.count > maxLength { return .failure(.header("a stanza is too long")) }
            }
            guard let decoded = AgeBase64.decode(body) else { return .failure(.header("a stanza body is not canonical base64")) }
            stanzas.append(Stanza(type: String(decoding: fields[0], as: UTF8.self), arguments: fields.dropFirst().map { String(decoding: $0, as: UTF8.self) }, body: decoded))
            if stanzas.count > 10_000 { return .failure(.header("the header holds too many stanzas")) }
        }
    }

    /// The file key, unwrapped with one of `identities` and checked against the header MAC.
    public func unwrap(with identities: [AgeIdentity]) -> Result<[UInt8], AgeError> {
        let aead = ChaChaPoly()
        var found: [UInt8]?
        search: for identity in identities {
            for s in stanzas where s.type == "X25519" {
                guard s.arguments.count == 1, let share = AgeBase64.decode(Array(s.arguments[0].utf8)), share.count == 32 else {
                    return .failure(.header("an X25519 stanza has a malformed share"))
                }
                guard s.body.count == 32 else { return .failure(.header("an X25519 stanza's body is not 32 bytes")) }
                guard let shared = AgePrimitives.x25519(identity.scalar, share) else {
                    return .failure(.header("an X25519 stanza has a low-order share"))
                }
                guard let wrapKey = AgePrimitives.hkdf(ikm: shared, salt: share + identity.recipient.publicKey, info: Self.x25519Label) else {
                    return .failure(.unavailable("HKDF failed"))
                }
                if let key = aead.open(key: wrapKey, nonce: [UInt8](repeating: 0, count: 12), sealed: s.body) {
                    found = key
                    break search
                }
            }
        }
        guard let fileKey = found else { return .failure(.noMatch) }
        guard let macKey = AgePrimitives.hkdf(ikm: fileKey, salt: [], info: "header") else { return .failure(.unavailable("HKDF failed")) }
        let mac = macInput.withUnsafeBytes { AgePrimitives.hmacSHA256(key: macKey, data: $0) }
        guard AgePrimitives.equal(mac, self.mac) else { return .failure(.mac) }
        return .success(fileKey)
    }

    /// The X25519 recipients' stanza count (for messages; the public keys are not in the header).
    public var x25519StanzaCount: Int { stanzas.filter { $0.type == "X25519" }.count }
}

/// Why an age file could not be opened or read.
public enum AgeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The header is malformed.
    case header(String)
    /// None of the identities opens any stanza.
    case noMatch
    /// A file key was unwrapped, but the header MAC does not match.
    case mac
    /// The payload is damaged or truncated: a chunk failed authentication, or the STREAM framing is wrong.
    case payload(String)
    /// OpenSSL lacks an algorithm, or the random generator failed.
    case unavailable(String)

    public var description: String {
        switch self {
        case .header(let s): return "malformed age header: \(s)"
        case .noMatch: return "no given identity opens this file"
        case .mac: return "the age header's MAC does not match (the header was altered)"
        case .payload(let s): return "the encrypted payload failed authentication: \(s)"
        case .unavailable(let s): return "encryption is unavailable: \(s)"
        }
    }
}
