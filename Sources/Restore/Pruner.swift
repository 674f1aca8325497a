import AgentSupport
import Hashing
import Logging
import S3
import Vault

#if canImport(Glibc)
    import Glibc
#endif

/// Deletes this host's offsite backups past retention. Each backup goes manifest first, so an
/// interrupted prune leaves one marked incomplete, never one that looks complete; the backups
/// being deleted are recorded under `state_dir/prune/` and a later run finishes them.
/// Objects under Object Lock or a legal hold are reported, not fought.
public final class Pruner {
    public let session: VaultSession
    public let host: String
    let pendingPath: String

    public init(session: VaultSession, stateDir: String, host: String) {
        self.session = session
        self.host = host
        let id = Digest.sha256("\(session.vault)\u{0}\(session.bucket)\u{0}\(session.prefix)").hexString.prefix(16)
        pendingPath = (stateDir.hasSuffix("/") ? stateDir : stateDir + "/") + "prune/\(id).json"
    }

    public func prune(policy: RetentionPolicy, dryRun: Bool, now: Int64 = Timestamp.now()) throws(AgentError) -> PruneReport {
        var report = PruneReport(vault: session.vault, host: host, policy: policy, dryRun: dryRun)
        var backups = try VaultCatalog(session: session).backups()
        var pending = loadPending()

        // Finish what an interrupted prune started (its manifests are gone already); one whose
        // objects are still protected stays recorded for a later run.
        if !dryRun {
            var unfinished: [String] = []
            for id in pending {
                if let leftover = backups.first(where: { $0.id == id }), !leftover.isComplete {
                    let byVersion = lockState(of: leftover).versioned ? try deleteVersions(of: leftover, into: &report, now: now) : .unsupported
                    let done = byVersion == .unsupported ? try deleteObjects(of: leftover, into: &report) : byVersion == .deleted
                    if done {
                        report.finishedEarlier.append(id)
                        session.logger.info(
                            "prune: finished deleting backup \(id), started by an interrupted prune", metadata: ["operation": "prune", "backup": .string(id)])
                    } else {
                        unfinished.append(id)
                    }
                }
            }
            backups.removeAll { b in pending.contains(b.id) && !b.isComplete }
            pending = unfinished
            try savePending(pending)
        }

        // What is deleted, kept or protected is the report's to say (the caller prints it once).
        let (doomed, keep) = policy.select(backups, host: host, now: now)
        report.kept = keep
        report.keptBy = policy.keepReasons(backups, host: host, now: now)
        for backup in doomed {
            let lock = lockState(of: backup)
            if let until = lock.retainUntil, until > now {
                report.locked.append((backup, until, lock.mode ?? ""))
                report.kept.append(backup)
                session.logger.info(
                    "prune: backup \(backup.id) is under Object Lock retention (\(lock.mode ?? "")) until \(Timestamp.iso8601(until)); kept",
                    metadata: ["operation": "prune", "backup": .string(backup.id), "mode": .string(lock.mode ?? ""), "retain_until": .string(Timestamp.iso8601(until))])
                continue
            }
            if dryRun {
                report.deleted.append(backup)
                continue
            }
            pending.append(backup.id)
            try savePending(pending)
            let byVersion = lock.versioned ? try deleteVersions(of: backup, into: &report, now: now) : .unsupported
            switch byVersion {
            case .deleted:
                report.deleted.append(backup)
                session.logger.info(
                    "prune: deleted backup \(backup.id) (\(Units.formatSize(backup.size)), \(backup.fileCount) files, every object version)",
                    metadata: Pruner.deletedMetadata(backup))
            case .kept:
                report.kept.append(backup)
            case .partlyHeld:
                // Incomplete now; stays recorded so a prune after the retention finishes it.
                continue
            case .unsupported:
                let manifestKey = session.manifestKey(backup.id)
                if let held = try delete(key: manifestKey, backup: backup.id) {
                    // The manifest stays: the backup remains complete and intact.
                    report.held.append(held)
                    report.kept.append(backup)
                } else if try deleteObjects(of: backup, into: &report) {
                    report.deleted.append(backup)
                } else {
                    continue
                }
            }
            pending.removeAll { $0 == backup.id }
            try savePending(pending)
        }
        return report
    }

    /// The fields of a "deleted backup" event: the backup, its size in bytes and its file count (numbers).
    static func deletedMetadata(_ backup: OffsiteBackup) -> Logger.Metadata {
        ["operation": "prune", "backup": .string(backup.id), "bytes": .stringConvertible(backup.size), "files": .stringConvertible(backup.fileCount)]
    }

    /// Every object of a backup but the manifest (already gone or never there); false when
    /// some are protected and stay.
    private func deleteObjects(of backup: OffsiteBackup, into report: inout PruneReport) throws(AgentError) -> Bool {
        let manifestKey = session.manifestKey(backup.id)
        var all = true
        for object in backup.objects where object.key != manifestKey {
            if let held = try delete(key: object.key, backup: backup.id) {
                report.held.append(held)
                all = false
            }
        }
        return all
    }

    /// Deletes one object; a refusal because of retention or a legal hold is returned, not thrown.
    private func delete(key: String, backup: String) throws(AgentError) -> PruneReport.Held? {
        do {
            try session.client.deleteObject(key: key)
            return nil
        } catch {
            if let s = error.failure.serviceError {
                if s.status == 404 { return nil }
                if Pruner.isRetentionRefusal(s) {
                    return PruneReport.Held(backup: backup, key: key, reason: s.message.isEmpty ? s.code : "\(s.code): \(s.message)")
                }
            }
            throw session.storageError(error, action: "s3:DeleteObject", rerun: "agent prune --vault \(session.vault)")
        }
    }

    /// A DELETE refused because Object Lock retention or a legal hold protects the object: the
    /// shared mapping's `objectLock`, or a DELETE-specific answer that says only "locked" or
    /// "protected" (`InvalidObjectState` included). A denial naming its action is a permission.
    public static func isRetentionRefusal(_ error: S3ServiceError) -> Bool {
        switch Refusal.of(error) {
        case .objectLock: return true
        case .permission(let action?) where !action.isEmpty: return false
        default: break
        }
        guard ["AccessDenied", "InvalidRequest", "InvalidObjectState"].contains(error.code) else { return false }
        let text = error.message.lowercased()
        return text.contains("locked") || text.contains("protected")
    }

    // MARK: the record of backups being deleted

    private func loadPending() -> [String] {
        guard let text = AtomicFile.read(pendingPath), let json = JSON.parse(text), let list = json["backups"]?.arrayValue else { return [] }
        return list.compactMap(\.stringValue)
    }

    private func savePending(_ ids: [String]) throws(AgentError) {
        if ids.isEmpty {
            unlink(pendingPath)
            return
        }
        guard AtomicFile.makeDirectories(AtomicFile.directory(of: pendingPath), mode: 0o700) else {
            throw AgentError(.invalidConfig, "cannot create \(AtomicFile.directory(of: pendingPath))", hint: "set state_dir to a directory the agent's user can write")
        }
        let json = JSON.object([
            ("vault", .string(session.vault)), ("bucket", .string(session.bucket)), ("prefix", .string(session.prefix)), ("backups", .array(ids.map { .string($0) })),
        ])
        do {
            try AtomicFile.write(json.serialized() + "\n", to: pendingPath, mode: 0o600)
        } catch {
            throw AgentError(.invalidConfig, "cannot record the prune in progress: \(error)", hint: "check free space and permissions of state_dir")
        }
    }
}
