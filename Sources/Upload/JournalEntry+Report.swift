import AgentSupport
import Backups

extension JournalEntry {
    /// The key prefix of the backup in the vault (`<prefix><backup>/`).
    public var keyPrefix: String { prefix + backup + "/" }

    /// Whether `resume --all` picks it up: killed (`uploading` with no live lock) or interrupted.
    public var isResumable: Bool { state == .uploading || state == .interrupted }

    /// `agent status --json`'s view of the entry.
    public func statusJSON() -> JSON {
        .object([
            ("id", .string(id)), ("backup", .string(backup)), ("vault", .string(vault)), ("key", .string(keyPrefix)),
            ("state", .string(state.rawValue)), ("bytes_done", .int(bytesDone)), ("bytes_total", .int(bytesTotal)),
            ("files", .int(Int64(files.count))), ("files_done", .int(Int64(files.filter { $0.state == .done }.count))),
            ("updated", .string(Timestamp.iso8601(updated))), ("last_error", lastError.map { .string($0) } ?? .null),
        ])
    }

    /// The backup this entry uploads, resolved and checked again (the source may have changed).
    public func resolveBackup(backupDir: String) throws(AgentError) -> Backup {
        let resolver = BackupResolver(backupDir: backupDir)
        if singleFile, let file = files.first {
            return try resolver.resolve(file.sourcePath)
        }
        return try resolver.resolve(backupDirectory.isEmpty ? backup : backupDirectory)
    }
}

/// `status --max-age`: which vaults have no completed upload that recent.
public enum FreshnessCheck {
    public struct Finding: Sendable {
        public var vault: String
        /// Epoch seconds of the vault's newest completed upload, nil when it never had one.
        public var lastSuccess: Int64?
    }

    public static func staleVaults(vaults: [String], entries: [JournalEntry], maxAge: Double, now: Int64) -> [Finding] {
        vaults.compactMap { vault in
            let last = entries.filter { $0.vault == vault && $0.state == .completed }.map(\.updated).max()
            if let last, Double(now - last) <= maxAge { return nil }
            return Finding(vault: vault, lastSuccess: last)
        }
    }
}
