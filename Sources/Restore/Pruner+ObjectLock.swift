import AgentSupport
import S3

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

    /// Deletes every version and delete marker under the backup's prefix, the manifest's first
    /// (an interrupted prune leaves the backup incomplete, never looking complete). Returns false,
    /// having deleted nothing, when the server does not list versions.
    func deleteVersions(of backup: OffsiteBackup, into report: inout PruneReport, now: Int64) throws(AgentError) -> Bool {
        let versions: [ObjectVersion]
        do {
            versions = try session.client.listObjectVersions(prefix: session.backupPrefix(backup.id))
        } catch {
            if let s = error.failure.serviceError, s.status == 501 || s.code == "NotImplemented" { return false }
            throw session.storageError(error, action: "s3:ListBucketVersions", rerun: "agent prune --vault \(session.vault)")
        }
        let manifestKey = session.manifestKey(backup.id)
        let ordered = versions.filter { $0.key == manifestKey } + versions.filter { $0.key != manifestKey }
        for version in ordered {
            do {
                try session.client.deleteObject(key: version.key, versionID: version.versionID)
                report.versionsDeleted += 1
            } catch {
                guard let s = error.failure.serviceError else {
                    throw session.storageError(error, action: "s3:DeleteObjectVersion", rerun: "agent prune --vault \(session.vault)")
                }
                if s.status == 404 || s.code == "NoSuchVersion" || s.code == "NoSuchKey" { continue }
                // A locked version: the server's words, or its retention read back.
                let retention = Pruner.isRetentionRefusal(s) ? nil : (try? session.client.getObjectRetention(key: version.key, versionID: version.versionID)) ?? nil
                if Pruner.isRetentionRefusal(s) || (retention?.retainUntil ?? 0) > now {
                    let reason = retention.map { "\($0.mode) retention until \($0.retainUntilText)" } ?? (s.message.isEmpty ? s.code : "\(s.code): \(s.message)")
                    report.held.append(PruneReport.Held(backup: backup.id, key: "\(version.key) (version \(version.versionID))", reason: reason))
                    session.logger.warning("prune: \(version.key) version \(version.versionID) is protected (\(reason)); left in place")
                    continue
                }
                throw session.storageError(error, action: "s3:DeleteObjectVersion", rerun: "agent prune --vault \(session.vault)")
            }
        }
        return true
    }
}
