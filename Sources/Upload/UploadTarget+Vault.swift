import AgentSupport
import Config
import Vault

extension UploadTarget {
    /// The engine's view of a configured vault: its endpoint (the same for both directions) and
    /// what only uploads need (part sizes, integrity, storage class, Object Lock, recipients).
    public init(vault: ResolvedVault, overrides: RunOverrides = RunOverrides(), host: String) throws(AgentError) {
        let endpoint = try VaultEndpoint(vault: vault, overrides: overrides)
        self.init(
            vault: vault.name, location: endpoint.location, credentials: endpoint.credentials, prefix: endpoint.prefix, limits: vault.profile.multipart,
            integrity: vault.profile.integrity, partSize: overrides.partSize ?? vault.partSize,
            multipartThreshold: vault.multipartThreshold ?? vault.profile.multipart.multipartThreshold, concurrency: endpoint.concurrency,
            bandwidthLimit: endpoint.bandwidthLimit, transfer: endpoint.transfer, maxAttempts: endpoint.maxAttempts, storageClass: vault.storageClass,
            serverSideEncryption: vault.serverSideEncryption, host: host)
        currentCredentials = endpoint.currentCredentials
        bandwidthTimetable = endpoint.bandwidthTimetable
        if let lock = vault.objectLock {
            objectLock = ObjectLockPolicy(settings: lock, vault: vault.name, bucket: vault.bucket, support: vault.profile.objectLock, terms: vault.profile.terms)
        }
        recipients = vault.recipients
        runBandwidthLimit = overrides.bandwidthLimit
        runConcurrency = overrides.concurrency
    }
}
