import Age
import AgentSupport

#if canImport(Glibc)
    import Glibc
#endif

extension UploadEngine {
    /// What this vault stores for the file: the file itself, or (a vault with `encrypt_to`) its age
    /// encryption under the key, header and nonce kept in the journal, made before anything is sent.
    /// Fails closed: when encryption is asked for and cannot run, nothing of the file is sent.
    func storedBytes(_ entry: inout JournalEntry, _ index: Int, fd: Int32) throws(AgentError) -> StoredBytes {
        let plaintextSize = entry.files[index].identity.size
        guard target.encrypts else {
            if entry.files[index].encryption != nil { entry.files[index].encryption = nil }
            return StoredBytes(plain: fd, size: plaintextSize)
        }
        try prepareEncryption(&entry, index)
        guard let encryption = entry.files[index].encryption,
            let stored = StoredBytes(encrypted: fd, plaintextSize: plaintextSize, encryption: encryption, scratch: ageScratch)
        else {
            throw encryptionUnavailable("the journal's encryption state for \(entry.files[index].path) is inconsistent")
        }
        return stored
    }

    /// A new file key, header (one X25519 stanza per recipient) and payload nonce, saved in the
    /// journal (0600) before the first byte is sent, unless an unfinished attempt left usable ones.
    private func prepareEncryption(_ entry: inout JournalEntry, _ index: Int) throws(AgentError) {
        let recipients = target.recipients.map(\.encoded)
        let file = entry.files[index]
        if let e = file.encryption, e.hasSecrets, e.recipients == recipients { return }
        if let uploadID = file.uploadID {
            // The parts sent so far cannot be re-created (other recipients, or the key is gone): start over.
            warn(
                "\(file.path): the interrupted encrypted upload cannot be continued (its recipients changed or its key is gone); sending it again from the start",
                metadata: ["key": .string(file.key), "path": .string(file.path)])
            abortQuietly(key: file.key, uploadID: uploadID)
            entry.files[index].uploadID = nil
            entry.files[index].parts = []
            entry.files[index].partSize = nil
        }
        guard AgePrimitives.available else { throw encryptionUnavailable("this OpenSSL lacks X25519, HKDF or ChaCha20-Poly1305") }
        guard let fileKey = AgePrimitives.random(16), let nonce = AgePrimitives.random(AgeStream.nonceSize),
            let header = AgeHeader.seal(fileKey: fileKey, to: target.recipients)
        else { throw encryptionUnavailable("making the file key or the age header failed") }
        let storedSize = Int64(header.encoded.count) + AgeStream.payloadSize(plaintext: file.identity.size)
        let encryption = JournalEntry.Encryption(recipients: recipients, storedSize: storedSize, fileKey: fileKey, header: header.encoded, nonce: nonce)
        try record(&entry, index, .encryption(path: file.path, encryption))
    }

    private func encryptionUnavailable(_ why: String) -> AgentError {
        AgentError(
            .rejected, "vault \(target.vault) asks for encryption (encrypt_to), but it cannot run: \(why); nothing was sent in plaintext",
            hint: "install OpenSSL 3 (libssl3) and run `agent resume --all`; `agent test-connection` checks the `encryption` step", exit: .failed)
    }
}
