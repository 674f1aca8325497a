import AgentSupport
import Logging
import S3
import Vault

/// Object Lock in prune: a backup whose objects are still under retention is kept and reported
/// with its retain-until date; once retention has passed, its object *versions* are deleted by
/// VersionId, so storage is freed and no delete marker is left hiding a locked version.
extension Pruner {
    /// What the vault shows about a backup's retention.
    struct LockState {
        /// The latest retain-until date among its objects, nil when none shows one.
        var retainUntil: Int64?
        var mode: String?
        /// The bucket keeps versions (Object Lock implies versioning): delete by VersionId.
        var versioned: Bool
    }

    /// HEADs every object of the backup (a HEAD shows retention to a key allowed
    /// s3:GetObjectRetention). Only called for backups the policy would delete.
    func lockState(of backup: OffsiteBackup) -> LockState {
        var state = LockState(retainUntil: nil, mode: nil, versioned: session.objectLock != nil)
        for object in backup.objects {
            guard let info = try? session.client.headObject(key: object.key), let retention = ObjectRetention.from(info) else { continue }
            state.versioned = true
            if let until = retention.retainUntil, until > (state.retainUntil ?? Int64.min) {
                state.retainUntil = until
                state.mode = retention.mode
            }
        }
        return state
    }

    /// What deleting a backup's versions came to.
    enum VersionDeletion: Equatable {
        /// The server does not list versions: nothing was deleted.
        case unsupported
        /// Every version and delete marker is gone.
        case deleted
        /// A manifest version is protected: the backup stays whole, nothing else was touched.
        case kept
        /// The manifest is gone but some data versions are protected: the backup is incomplete,
        /// the rest waits for its retention to pass (a later prune finishes it).
        case partlyHeld
    }

    /// Deletes every version and delete marker under the backup's prefix, the manifest's first
    /// (an interrupted prune leaves the backup incomplete, never looking complete). A protected
    /// manifest version stops it before any data is touched: a manifest over missing data would
    /// look like a restorable backup. Protection is learnt from the refusal itself, so it holds
    /// even when `lockState` saw no retention (a key without s3:GetObjectRetention, a legal hold).
    func deleteVersions(of backup: OffsiteBackup, into report: inout PruneReport, now: Int64) throws(AgentError) -> VersionDeletion {
        let versions: [ObjectVersion]
        do {
            versions = try session.client.listObjectVersions(prefix: session.backupPrefix(backup.id))
        } catch {
            if let s = error.failure.serviceError, s.status == 501 || s.code == "NotImplemented" { return .unsupported }
            throw session.storageError(error, action: "s3:ListBucketVersions", rerun: "agent prune --vault \(session.vault)")
        }
        let manifestKey = session.manifestKey(backup.id)
        var held = false
        for version in versions.filter({ $0.key == manifestKey }) {
            if try !deleteVersion(version, of: backup, into: &report, now: now) { held = true }
        }
        if held {
            session.logger.info(
                "prune: backup \(backup.id)'s manifest is protected; the backup is kept whole",
                metadata: ["operation": "prune", "backup": .string(backup.id), "key": .string(manifestKey)])
            return .kept
        }
        for version in versions where version.key != manifestKey {
            if try !deleteVersion(version, of: backup, into: &report, now: now) { held = true }
        }
        return held ? .partlyHeld : .deleted
    }

    /// Deletes one version; false when the server refuses because retention or a legal hold
    /// protects it (recorded in the report's `held`).
    private func deleteVersion(_ version: ObjectVersion, of backup: OffsiteBackup, into report: inout PruneReport, now: Int64) throws(AgentError) -> Bool {
        do {
            try session.client.deleteObject(key: version.key, versionID: version.versionID)
            report.versionsDeleted += 1
            return true
        } catch {
            guard let s = error.failure.serviceError else {
                throw session.storageError(error, action: "s3:DeleteObjectVersion", rerun: "agent prune --vault \(session.vault)")
            }
            if s.status == 404 || s.code == "NoSuchVersion" || s.code == "NoSuchKey" { return true }
            // A locked version: the server's words, or its retention read back.
            let retention = Pruner.isRetentionRefusal(s) ? nil : (try? session.client.getObjectRetention(key: version.key, versionID: version.versionID)) ?? nil
            if Pruner.isRetentionRefusal(s) || (retention?.retainUntil ?? 0) > now {
                let reason = retention.map { "\($0.mode) retention until \($0.retainUntilText)" } ?? (s.message.isEmpty ? s.code : "\(s.code): \(s.message)")
                report.held.append(PruneReport.Held(backup: backup.id, key: "\(version.key) (version \(version.versionID))", reason: reason))
                var metadata: Logger.Metadata = [
                    "operation": "prune", "backup": .string(backup.id), "key": .string(version.key), "version": .string(version.versionID), "reason": .string(reason),
                ]
                if let retention {
                    metadata["mode"] = .string(retention.mode)
                    metadata["retain_until"] = .string(retention.retainUntilText)
                }
                session.logger.warning("prune: \(version.key) version \(version.versionID) is protected (\(reason)); left in place", metadata: metadata)
                return false
            }
            throw session.storageError(error, action: "s3:DeleteObjectVersion", rerun: "agent prune --vault \(session.vault)")
        }
    }
}
