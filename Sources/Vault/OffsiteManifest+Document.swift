import AgentSupport
import Hashing

/// The writer of `offsite-manifest.json` (SPEC 5), beside its reader (`decode`): the same type
/// both ways, field order as specified; a unit test reads the writer's own output back.
extension OffsiteManifest {
    /// The document, files sorted by path. Format 2 when a file is encrypted (an older agent
    /// refuses it rather than misread sizes), else format 1.
    public func json() -> JSON {
        JSON.object(head + [("files", .array(files.sorted { $0.path < $1.path }.map(\.json)))])
    }

    /// The document's bytes as uploaded: indented up to `compactAbove` files; above, compact with
    /// one file per line, written entry by entry into bytes of the exact size, so the document
    /// never exists as a JSON tree or a growing string (issue 19).
    public func bytes(compactAbove: Int = 1000) -> [UInt8] {
        guard files.count > compactAbove else { return Array((json().serialized(pretty: true) + "\n").utf8) }
        let order = files.indices.sorted { files[$0].path < files[$1].path }
        var start = "{"
        for (key, value) in head { start += JSON.string(key).serialized() + ": " + value.serialized() + ", " }
        start += "\"files\": [\n"
        let end = "\n]}\n"
        // Two passes: the size, then the bytes into a buffer of exactly that size.
        var size = start.utf8.count + end.utf8.count
        for (n, i) in order.enumerated() { size += files[i].json.serialized().utf8.count + (n > 0 ? 2 : 0) }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        out.append(contentsOf: start.utf8)
        for (n, i) in order.enumerated() {
            if n > 0 { out.append(contentsOf: ",\n".utf8) }
            out.append(contentsOf: files[i].json.serialized().utf8)
        }
        out.append(contentsOf: end.utf8)
        return out
    }

    /// The fields before `files`, in the specified order.
    private var head: [(String, JSON)] {
        [
            ("format", .int(isEncrypted ? 2 : 1)),
            ("backup", .string(backup)),
            ("host", .string(host)),
            ("type", type.map { .string($0) } ?? .null),
            ("created_at", createdAt.map { .string($0) } ?? .null),
            ("uploaded_at", uploadedAt.map { .string($0) } ?? .null),
            ("agent_version", agentVersion.map { .string($0) } ?? .null),
        ]
    }

    /// Adds the files of an earlier manifest this one does not replace (by path): one archive
    /// joining a backup already offsite keeps the others' entries.
    public mutating func keep(_ earlier: [File]) {
        let sent = Set(files.map(\.path))
        files.append(contentsOf: earlier.filter { !sent.contains($0.path) })
    }
}

extension OffsiteManifest.File {
    var json: JSON {
        // `size` is the plaintext's; for an encrypted file the hashes and ETag are of the stored age file.
        var fields: [(String, JSON)] = [("path", .string(path)), ("key", .string(key)), ("size", .int(plaintextSize)), ("etag", .string(etag))]
        switch checksum {
        case .crc32c(let crc):
            // The whole object's CRC-32C (issue 17): the server verified it and keeps it.
            fields.append(("crc32c", .string(CRC32C.hex(crc))))
        case .parts(let partSize, let hashes):
            fields.append(("part_size", .int(partSize)))
            fields.append(("sha256_parts", .array(hashes.map { .string($0) })))
        case .sha256(let hex):
            fields.append(("sha256", .string(hex)))
        case .none:
            break
        }
        if let e = encryption {
            fields.append(("stored_size", .int(size)))
            fields.append(("encryption", .object([("format", .string(e.format)), ("recipients", .array(e.recipients.map { .string($0) }))])))
        }
        return .object(fields)
    }
}
