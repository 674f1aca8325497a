/// An X25519 recipient, `age1…`: a public key anyone may hold.
public struct AgeRecipient: Sendable, Hashable, CustomStringConvertible {
    public let publicKey: [UInt8]

    public init?(publicKey: [UInt8]) {
        guard publicKey.count == 32 else { return nil }
        self.publicKey = publicKey
    }

    /// Parses `age1…`; nil for anything else (other recipient types included).
    public init?(_ text: String) {
        guard text.hasPrefix("age1"), let (hrp, data) = Bech32.decode(text), hrp == "age", data.count == 32,
            text == text.lowercased()
        else { return nil }
        publicKey = data
    }

    public var encoded: String { Bech32.encode(hrp: "age", data: publicKey) }
    public var description: String { encoded }
}

/// An X25519 identity, `AGE-SECRET-KEY-1…`: the secret that opens files sent to its recipient.
/// Its description never shows the secret.
public struct AgeIdentity: Sendable, CustomStringConvertible {
    let scalar: [UInt8]
    public let recipient: AgeRecipient

    public init?(scalar: [UInt8]) {
        guard scalar.count == 32, let pub = AgePrimitives.x25519Public(scalar), let r = AgeRecipient(publicKey: pub) else { return nil }
        self.scalar = scalar
        self.recipient = r
    }

    /// Parses `AGE-SECRET-KEY-1…` (upper case, as age-keygen writes it).
    public init?(_ text: String) {
        guard text.hasPrefix("AGE-SECRET-KEY-1"), text == text.uppercased(), let (hrp, data) = Bech32.decode(text), hrp == "age-secret-key-"
        else { return nil }
        self.init(scalar: data)
    }

    /// A new identity from OpenSSL's random generator.
    public static func generate() -> AgeIdentity? {
        guard let scalar = AgePrimitives.random(32) else { return nil }
        return AgeIdentity(scalar: scalar)
    }

    /// The secret encoding; write it only to a 0600 file.
    public var secretEncoding: String { Bech32.encode(hrp: "age-secret-key-", data: scalar).uppercased() }
    public var description: String { "AgeIdentity(\(recipient.encoded))" }
}

/// Why a list of recipients or identities could not be read: `line` is 1-based (0: not from a file).
public struct AgeKeyListError: Error, Sendable {
    public var line: Int
    public var message: String
}

public enum AgeKeyList {
    /// Recipients in age's recipients-file format: one per line, `#` comments, blank lines.
    /// Unknown recipient types (ssh-, plugins) are refused: this agent cannot encrypt to them.
    public static func recipients(_ text: String) -> Result<[AgeRecipient], AgeKeyListError> {
        var out: [AgeRecipient] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = trimmed(raw)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let r = AgeRecipient(line) else {
                return .failure(AgeKeyListError(line: i + 1, message: describeBad(line, expected: "an X25519 recipient (age1…)")))
            }
            out.append(r)
        }
        return .success(out)
    }

    /// Identities in age's identity-file format (age-keygen's output): `#` comments and
    /// `AGE-SECRET-KEY-1…` lines. Error messages never repeat a secret.
    public static func identities(_ text: String) -> Result<[AgeIdentity], AgeKeyListError> {
        var out: [AgeIdentity] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = trimmed(raw)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let id = AgeIdentity(line) else {
                let what = line.hasPrefix("AGE-PLUGIN-") ? "a plugin identity, which this agent cannot use" : line.hasPrefix("AGE-SECRET-KEY-") ? "a damaged AGE-SECRET-KEY-1… identity" : "not an age X25519 identity"
                return .failure(AgeKeyListError(line: i + 1, message: "line \(i + 1) is \(what)"))
            }
            out.append(id)
        }
        if out.isEmpty { return .failure(AgeKeyListError(line: 0, message: "it holds no AGE-SECRET-KEY-1… identity")) }
        return .success(out)
    }

    package static func trimmed(_ s: Substring) -> String {
        var t = s
        while let f = t.first, f == " " || f == "\t" || f == "\r" { t.removeFirst() }
        while let l = t.last, l == " " || l == "\t" || l == "\r" { t.removeLast() }
        return String(t)
    }

    /// Why a recipient string was refused, naming its type without repeating more than its start.
    public static func describeBad(_ text: String, expected: String) -> String {
        let shown = text.count > 24 ? String(text.prefix(20)) + "…" : text
        if text.hasPrefix("ssh-") { return "\"\(shown)\" is an SSH recipient; this agent encrypts to X25519 recipients (age1…) only" }
        if text.hasPrefix("age1") && text.count > 62 { return "\"\(shown)\" is a plugin or post-quantum recipient; this agent encrypts to X25519 recipients (age1…) only" }
        if text.uppercased().hasPrefix("AGE-SECRET-KEY") { return "an identity (secret key) was given where a recipient (age1…) belongs; use the public key `age-keygen -y` prints" }
        return "\"\(shown)\" is not \(expected) (a typo, or a damaged checksum)"
    }
}
