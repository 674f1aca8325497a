import AgentSupport
import Hashing
import Vault

extension OffsiteManifest.File {
    /// A sent file as the offsite manifest records it: the checksum that proves its stored bytes
    /// (the whole object's CRC-32C, one SHA-256 per part, or the file's SHA-256).
    init(sent f: JournalEntry.File) {
        var checksum = OffsiteManifest.Checksum.none
        if let c = f.checksum, c.hasPrefix("crc32c:"), let crc = CRC32C.parseHex(String(c.dropFirst(7))) {
            checksum = .crc32c(crc)
        } else if let partSize = f.partSize, f.uploadID != nil {
            checksum = .parts(partSize: partSize, sha256: f.parts.sorted { $0.number < $1.number }.map(\.sha256))
        } else if let c = f.checksum, c.hasPrefix("sha256:") {
            checksum = .sha256(String(c.dropFirst(7)))
        }
        self.init(
            path: f.path, key: f.key, size: f.encryption?.storedSize ?? f.identity.size, etag: f.etag ?? "", checksum: checksum,
            encryption: f.encryption.map { OffsiteManifest.Encryption(format: "age", recipients: $0.recipients) }, plaintextSize: f.identity.size)
    }
}

extension OffsiteManifest {
    /// The manifest of an upload's sent `files`.
    static func of(
        sent files: [JournalEntry.File], backupID: String, host: String, type: String?, createdAt: String?, agentVersion: String, uploadedAt: Int64
    ) -> OffsiteManifest {
        OffsiteManifest(
            backup: backupID, host: host, type: type, createdAt: createdAt, uploadedAt: Timestamp.iso8601(uploadedAt), agentVersion: agentVersion,
            files: files.map(OffsiteManifest.File.init(sent:)))
    }
}
