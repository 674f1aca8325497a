import AgentSupport

/// The text of a backup's `offsite-manifest.json` (SPEC 5), field order as specified. Written
/// here, read by `OffsiteManifest` (Restore); a unit test reads this writer's own output back.
public enum OffsiteManifestDocument {
    /// The manifest for the uploaded `files`, plus `keeping`: entries of an earlier manifest (by
    /// path) that this upload did not send, when one archive joins a backup already offsite.
    /// Indented up to `compactAbove` files; above, compact with one file per line, written
    /// entry by entry into bytes of the exact size: the document never exists as a JSON tree or
    /// a growing string (issue 19).
    public static func bytes(
        files: [JournalEntry.File], keeping: [JSON] = [], backupID: String, host: String, type: String?, createdAt: String?,
        agentVersion: String, uploadedAt: Int64, compactAbove: Int = 1000
    ) -> [UInt8] {
        // Entries by path: a file of this upload (index >= 0) or a kept one (index -1 - k).
        var sent = Set<String>()
        if !keeping.isEmpty { sent = Set(files.map(\.path)) }
        var order: [(path: String, index: Int)] = []
        order.reserveCapacity(files.count + keeping.count)
        for (k, old) in keeping.enumerated() {
            let path = old["path"]?.stringValue ?? ""
            if !sent.contains(path) { order.append((path, -1 - k)) }
        }
        for (i, f) in files.enumerated() { order.append((f.path, i)) }
        order.sort { $0.path < $1.path }
        func entry(_ index: Int) -> JSON { index >= 0 ? json(files[index]) : keeping[-1 - index] }
        // Format 2 when a file is encrypted: an older agent refuses it rather than misread sizes.
        let encrypted = files.contains { $0.encryption != nil } || order.contains { $0.index < 0 && keeping[-1 - $0.index]["encryption"]?["format"] != nil }
        let head: [(String, JSON)] = [
            ("format", .int(encrypted ? 2 : 1)),
            ("backup", .string(backupID)),
            ("host", .string(host)),
            ("type", type.map { .string($0) } ?? .null),
            ("created_at", createdAt.map { .string($0) } ?? .null),
            ("uploaded_at", .string(Timestamp.iso8601(uploadedAt))),
            ("agent_version", .string(agentVersion)),
        ]
        guard order.count > compactAbove else {
            let document = JSON.object(head + [("files", .array(order.map { entry($0.index) }))])
            return Array((document.serialized(pretty: true) + "\n").utf8)
        }
        var start = "{"
        for (key, value) in head { start += JSON.string(key).serialized() + ": " + value.serialized() + ", " }
        start += "\"files\": [\n"
        let end = "\n]}\n"
        // Two passes: the size, then the bytes into a buffer of exactly that size.
        var size = start.utf8.count + end.utf8.count
        for (n, e) in order.enumerated() { size += entry(e.index).serialized().utf8.count + (n > 0 ? 2 : 0) }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        out.append(contentsOf: start.utf8)
        for (n, e) in order.enumerated() {
            if n > 0 { out.append(contentsOf: ",\n".utf8) }
            out.append(contentsOf: entry(e.index).serialized().utf8)
        }
        out.append(contentsOf: end.utf8)
        return out
    }

    /// One file's entry.
    static func json(_ f: JournalEntry.File) -> JSON {
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
        return .object(fields)
    }
}
