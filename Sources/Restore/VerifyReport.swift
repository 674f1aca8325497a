import AgentSupport
import S3

/// What `agent verify` found: one line per file of the manifest.
public struct VerifyReport: Sendable {
    public enum Status: String, Sendable { case ok, mismatch, missing }

    public struct File: Sendable {
        public var path: String
        public var key: String
        public var size: Int64
        public var status: Status
        /// What differs, in words (empty when ok).
        public var problems: [String]
        /// The Object Lock retention the HEAD showed (only to a key allowed s3:GetObjectRetention).
        public var retention: ObjectRetention? = nil
        /// How the content was checked: `crc32c` (the server's stored full-object checksum equals
        /// the manifest's, issue 17), `size` (only size and ETag), or, with --deep, `download`.
        public var checkedBy: String = "size"
    }

    /// The date until which every file is locked (the earliest retain-until), nil when any file
    /// shows no retention.
    public var retainUntil: Int64? {
        let dates = files.map { $0.retention?.retainUntil }
        guard !dates.isEmpty, dates.allSatisfy({ $0 != nil }) else { return nil }
        return dates.compactMap { $0 }.min()
    }

    public var backup: String
    public var vault: String
    public var deep: Bool
    public var files: [File]
    /// Bytes downloaded and re-hashed (`--deep`).
    public var bytesRead: Int64
    public var seconds: Double
    /// Files whose manifest entry had no checksum to compare with (only their size was checked).
    public var unchecked: Int

    public var ok: Bool { files.allSatisfy { $0.status == .ok } }
    public var failures: [File] { files.filter { $0.status != .ok } }

    /// The VERIFY_MISMATCH error a failed verification ends with.
    public var error: AgentError? {
        guard !ok else { return nil }
        let list = failures.prefix(5).map { "\($0.path) (\($0.problems.first ?? $0.status.rawValue))" }.joined(separator: "; ")
        return AgentError(
            .verifyMismatch, "\(failures.count) of \(files.count) files of backup \(backup) in vault \(vault) differ from the manifest: \(list)",
            hint: "upload the backup again with `agent upload \(backup) --force` from a server that still holds it; if it repeats, something alters stored objects")
    }

    public func json() -> JSON {
        var fields: [(String, JSON)] = [
            ("ok", .bool(ok)), ("backup", .string(backup)), ("vault", .string(vault)), ("deep", .bool(deep)),
            (
                "files",
                .array(
                    files.map {
                        .object([
                            ("path", .string($0.path)), ("key", .string($0.key)), ("size", .int($0.size)), ("status", .string($0.status.rawValue)),
                            ("problems", .array($0.problems.map { .string($0) })), ("checked_by", .string($0.checkedBy)),
                            ("lock_mode", $0.retention.map { .string($0.mode) } ?? .null),
                            ("retain_until", $0.retention.map { .string($0.retainUntil.map(Timestamp.iso8601) ?? $0.retainUntilText) } ?? .null),
                        ])
                    })
            ),
            ("retain_until", retainUntil.map { .string(Timestamp.iso8601($0)) } ?? .null),
            ("bytes_read", .int(bytesRead)),
            ("unchecked", .int(Int64(unchecked))),
            ("seconds", .double((seconds * 1000).rounded() / 1000)),
        ]
        if let error {
            fields.append(("error", .object([("code", .string(error.code.rawValue)), ("message", .string(error.message)), ("hint", .string(error.hint))])))
        }
        return .object(fields)
    }
}
