import Age
import AgentSupport
import Providers

extension AgentConfig {
    /// The vault's age recipients: `encrypt_to` entries, then the lines of `encrypt_to_file`.
    /// A malformed or unsupported recipient is INVALID_CONFIG naming the entry or file line.
    func encryptionRecipients(_ v: VaultSettings, fail: (String?, String, String) -> AgentError) throws -> [AgeRecipient] {
        var recipients: [AgeRecipient] = []
        for (i, entry) in (v.encryptTo ?? []).enumerated() {
            let text = entry.trimmingWhitespace()
            guard let r = AgeRecipient(text) else {
                throw fail(
                    "encrypt_to", "encrypt_to entry \(i + 1): \(AgeKeyList.describeBad(text, expected: "an age X25519 recipient (age1…)"))",
                    "write the recipient `agent keygen` or `age-keygen` printed (age1 followed by 58 characters); nothing was sent")
            }
            recipients.append(r)
        }
        if let file = v.encryptToFile {
            guard let text = AtomicFile.read(file, limit: 1 << 20) else {
                throw fail("encrypt_to_file", "cannot read encrypt_to_file \(file)", "make \(file) readable by the agent's user, or fix the path; nothing was sent")
            }
            switch AgeKeyList.recipients(text) {
            case .success(let list):
                guard !list.isEmpty else {
                    throw fail("encrypt_to_file", "\(file) holds no recipient", "add one age1… recipient per line (# starts a comment); nothing was sent")
                }
                recipients += list
            case .failure(let e):
                throw fail("encrypt_to_file", "\(file):\(e.line): \(e.message)", "fix line \(e.line) of \(file): one age1… recipient per line, # for comments; nothing was sent")
            }
        }
        if v.encryptTo != nil, v.encryptTo?.isEmpty == true, v.encryptToFile == nil {
            throw fail("encrypt_to", "encrypt_to is an empty list", "name at least one age1… recipient, or remove `encrypt_to` to store plaintext")
        }
        if !recipients.isEmpty, !AgePrimitives.available {
            throw fail(
                "encrypt_to", "encryption is asked for, but this OpenSSL lacks X25519, HKDF or ChaCha20-Poly1305",
                "install OpenSSL 3 (libssl3); nothing is ever sent in plaintext to a vault that asks for encryption")
        }
        var seen = Set<AgeRecipient>()
        return recipients.filter { seen.insert($0).inserted }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
