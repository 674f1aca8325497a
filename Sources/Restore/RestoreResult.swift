import AgentSupport

/// What one `agent restore` did.
public struct RestoreResult: Sendable {
    public enum Status: String, Sendable {
        /// Downloaded, checked against the manifest and renamed into place by this run.
        case restored
        /// Finished by an earlier, interrupted run of the same restore.
        case already
        /// Its bytes differ from the manifest's checksum even after a second download: not put in place.
        case mismatch
    }

    public struct File: Sendable {
        public var path: String
        public var size: Int64
        public var status: Status
        public var problem: String?
    }

    public var backup: String
    public var vault: String
    public var target: String
    public var files: [File]
    /// Bytes of the whole backup.
    public var bytes: Int64
    /// Bytes downloaded by this run.
    public var bytesDownloaded: Int64
    public var seconds: Double
    /// True when this run continued an interrupted restore.
    public var resumed: Bool
    public var warnings: [String]

    public var ok: Bool { files.allSatisfy { $0.status != .mismatch } }

    /// VERIFY_MISMATCH when a file could not be brought back intact.
    public var error: AgentError? {
        let bad = files.filter { $0.status == .mismatch }
        guard !bad.isEmpty else { return nil }
        return AgentError(
            .verifyMismatch,
            "\(bad.count) of \(files.count) files of backup \(backup) from vault \(vault) differ from the manifest and were not put in place: \(bad.prefix(5).map(\.path).joined(separator: ", "))",
            hint: "the stored objects are damaged or were replaced: run `agent verify \(backup) --deep --vault \(vault)`, and restore from another vault if you have one")
    }

    public func json() -> JSON {
        var fields: [(String, JSON)] = [
            ("ok", .bool(ok)), ("backup", .string(backup)), ("vault", .string(vault)), ("target", .string(target)), ("resumed", .bool(resumed)),
            (
                "files",
                .array(
                    files.map { f in
                        var o: [(String, JSON)] = [("path", .string(f.path)), ("size", .int(f.size)), ("status", .string(f.status.rawValue))]
                        if let p = f.problem { o.append(("problem", .string(p))) }
                        return .object(o)
                    })
            ),
            ("bytes", .int(bytes)),
            ("bytes_downloaded", .int(bytesDownloaded)),
            ("seconds", .double((seconds * 1000).rounded() / 1000)),
            ("warnings", .array(warnings.map { .string($0) })),
        ]
        if let error {
            fields.append(("error", .object([("code", .string(error.code.rawValue)), ("message", .string(error.message)), ("hint", .string(error.hint))])))
        }
        return .object(fields)
    }
}
