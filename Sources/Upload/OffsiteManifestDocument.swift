import AgentSupport

/// The text of a backup's `offsite-manifest.json` (SPEC 5), field order as specified. Written
/// here, read by `OffsiteManifest` (Restore); a unit test reads this writer's own output back.
public enum OffsiteManifestDocument {
    /// The manifest for the uploaded `files`, plus `keeping`: entries of an earlier manifest (by
    /// path) that this upload did not send, when one archive joins a backup already offsite.
    public static func make(
        files: [JournalEntry.File], keeping: [JSON] = [], backupID: String, host: String, type: String?, createdAt: String?,
        agentVersion: String, uploadedAt: Int64
    ) -> JSON {
        var entries = keeping.filter { old in !files.contains(where: { $0.path == old["path"]?.stringValue }) }
        for f in files {
            var fields: [(String, JSON)] = [
                ("path", .string(f.path)), ("key", .string(f.key)), ("size", .int(f.identity.size)), ("etag", .string(f.etag ?? "")),
            ]
            if let c = f.checksum, c.hasPrefix("crc32c:") {
                // The whole object's CRC-32C (issue 17): the server verified it and keeps it.
                fields.append(("crc32c", .string(String(c.dropFirst(7)))))
            } else if let uploadPartSize = f.partSize, f.uploadID != nil {
                fields.append(("part_size", .int(uploadPartSize)))
                fields.append(("sha256_parts", .array(f.parts.sorted { $0.number < $1.number }.map { .string($0.sha256) })))
            } else if let c = f.checksum, c.hasPrefix("sha256:") {
                fields.append(("sha256", .string(String(c.dropFirst(7)))))
            }
            if let e = f.encryption {
                // `size` is the plaintext's; the hashes and ETag are of the stored age file.
                fields.append(("stored_size", .int(e.storedSize)))
                fields.append(("encryption", .object([("format", .string("age")), ("recipients", .array(e.recipients.map { .string($0) }))])))
            }
            entries.append(.object(fields))
        }
        entries.sort { ($0["path"]?.stringValue ?? "") < ($1["path"]?.stringValue ?? "") }
        // Format 2 when a file is encrypted: an older agent refuses it rather than misread sizes.
        let encrypted = entries.contains { $0["encryption"]?["format"] != nil }
        return JSON.object([
            ("format", .int(encrypted ? 2 : 1)),
            ("backup", .string(backupID)),
            ("host", .string(host)),
            ("type", type.map { .string($0) } ?? .null),
            ("created_at", createdAt.map { .string($0) } ?? .null),
            ("uploaded_at", .string(Timestamp.iso8601(uploadedAt))),
            ("agent_version", .string(agentVersion)),
            ("files", .array(entries)),
        ])
    }
}
