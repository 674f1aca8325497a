import AgentSupport

/// What one backup's upload to one vault did (SPEC 5's `--json` result).
public struct UploadResult: Sendable {
    public struct File: Sendable {
        public var path: String
        public var key: String
        public var size: Int64
        public var parts: Int
        public var etag: String
        public var checksum: String
    }

    public var backup: String
    public var vault: String
    public var entryID: String
    public var files: [File]
    /// Bytes sent in this run (resumed parts the server already held are not counted).
    public var bytesSent: Int64
    public var bytes: Int64
    public var seconds: Double
    /// True when nothing was sent because the backup is already complete offsite.
    public var alreadyOffsite: Bool
    public var resumed: Bool
    public var warnings: [String]
    /// Object Lock: the mode and the earliest retain-until among the objects this run wrote, each
    /// verified on the server; nil for a vault without object_lock_mode.
    public var objectLock: (mode: String, retainUntil: Int64)? = nil

    public func json() -> JSON {
        .object([
            ("ok", .bool(true)),
            ("backup", .string(backup)),
            ("vault", .string(vault)),
            ("upload_id", .string(entryID)),
            ("already_offsite", .bool(alreadyOffsite)),
            ("resumed", .bool(resumed)),
            (
                "files",
                .array(
                    files.map {
                        .object([
                            ("path", .string($0.path)), ("key", .string($0.key)), ("size", .int($0.size)), ("parts", .int(Int64($0.parts))),
                            ("etag", .string($0.etag)), ("checksum", .string($0.checksum)),
                        ])
                    })
            ),
            ("bytes", .int(bytes)),
            ("bytes_sent", .int(bytesSent)),
            ("seconds", .double((seconds * 1000).rounded() / 1000)),
            ("warnings", .array(warnings.map { .string($0) })),
            (
                "object_lock",
                objectLock.map { .object([("mode", .string($0.mode)), ("retain_until", .string(Timestamp.iso8601($0.retainUntil)))]) } ?? .null
            ),
        ])
    }
}
