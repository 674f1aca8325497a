import Age
import AgentSupport
import Config
import HTTPTransport

extension ConnectionTest {
    /// `encryption`: a vault with `encrypt_to` has valid recipients (checked when the config
    /// resolved) and the algorithms in this OpenSSL; a warning when an identity that opens its
    /// copies is readable here (the point is that the server cannot decrypt them).
    func runEncryption() -> Bool {
        let start = monotonicSeconds()
        guard vault.encrypts else {
            record(.encryption, .pass, ms: Self.millis(since: start), explanation: "Off: vault \(vault.name) stores files as they are (no encrypt_to).")
            return true
        }
        guard AgePrimitives.available else {
            stop(
                Finding(
                    .encryption, .fail, .invalidConfig, "This OpenSSL lacks X25519, HKDF or ChaCha20-Poly1305: nothing can be encrypted, so nothing would be uploaded.",
                    fix: "install OpenSSL 3 (libssl3)"), ms: Self.millis(since: start))
            return false
        }
        let recipients = Set(vault.recipients)
        if let path = vault.identityFile, let text = AtomicFile.read(path, limit: 1 << 20),
            case .success(let ids) = AgeKeyList.identities(text), ids.contains(where: { recipients.contains($0.recipient) })
        {
            record(
                Finding(
                    .encryption, .warn, .identityOnServer,
                    "Files are encrypted to \(vault.recipients.count) age recipient(s), but the identity file \(path) that decrypts them is readable on this server: whoever takes the server can read the offsite copies.",
                    fix: "move \(path) off this server (keep it with the admins, or offline) and remove `identity_file` from \(context.section); restore elsewhere with `agent restore --identity FILE`"),
                ms: Self.millis(since: start))
            return true
        }
        record(
            .encryption, .pass, ms: Self.millis(since: start),
            explanation: "Files are stored as age files encrypted to \(vault.recipients.map(\.encoded).joined(separator: ", ")); no identity that opens them is readable here.")
        return true
    }
}
