import AgentSupport
import S3
import Vault

extension VaultCatalog {
    /// Fills each complete backup's `retention` from a HEAD of its manifest (written last, so
    /// locked latest). Done when the vault sets object_lock_mode, or when the newest manifest
    /// shows a retention (a bucket's default retention); otherwise one HEAD and nothing more.
    /// A HEAD shows retention only to a key allowed s3:GetObjectRetention: without it, none is shown.
    public func readRetention(_ backups: inout [OffsiteBackup]) {
        let complete = backups.indices.filter { backups[$0].isComplete }
        guard let newest = complete.last else { return }
        var indices = complete
        if session.objectLock == nil {
            guard let shown = manifestRetention(backups[newest].id) else { return }
            backups[newest].retention = shown
            indices.removeAll { $0 == newest }
        }
        for i in indices {
            backups[i].retention = manifestRetention(backups[i].id)
        }
    }

    private func manifestRetention(_ backup: String) -> ObjectRetention? {
        guard let info = try? session.client.headObject(key: session.manifestKey(backup)) else { return nil }
        return ObjectRetention.from(info)
    }
}
