import Config
import HTTPTransport
import Providers
import S3
import SigV4
import AgentSupport
import Credentials

/// One-run overrides from the command line (`--part-size`, `--concurrency`, `--bandwidth-limit`).
public struct RunOverrides: Sendable {
    public var partSize: Int64?
    public var concurrency: Int?
    public var bandwidthLimit: Int64?
    public init(partSize: Int64? = nil, concurrency: Int? = nil, bandwidthLimit: Int64? = nil) {
        self.partSize = partSize
        self.concurrency = concurrency
        self.bandwidthLimit = bandwidthLimit
    }
}

extension UploadTarget {
    /// The engine's view of a configured vault.
    public init(vault: ResolvedVault, overrides: RunOverrides = RunOverrides(), host: String) throws(AgentError) {
        guard let location = S3Location(endpoint: vault.endpoint, bucket: vault.bucket, region: vault.region, pathStyle: vault.pathStyle) else {
            throw AgentError(.invalidConfig, "vault \(vault.name): endpoint \(vault.endpoint) is not an http(s) URL", hint: "set endpoint = \"https://host[:port]\" for vault \(vault.name)")
        }
        var transfer = TransferOptions()
        transfer.connectTimeout = vault.connectTimeout
        transfer.stallTimeout = vault.stallTimeout
        transfer.stallMinRate = vault.stallMinRate
        transfer.caFile = vault.caFile
        self.init(
            vault: vault.name, location: location,
            credentials: SigningCredentials(
                accessKeyID: vault.credentials.accessKeyID, secretAccessKey: vault.credentials.secretAccessKey, sessionToken: vault.credentials.sessionToken),
            prefix: vault.prefix, limits: vault.profile.multipart, integrity: vault.profile.integrity,
            partSize: overrides.partSize ?? vault.partSize,
            multipartThreshold: vault.multipartThreshold ?? vault.profile.multipart.multipartThreshold,
            concurrency: overrides.concurrency ?? vault.concurrency, bandwidthLimit: overrides.bandwidthLimit ?? vault.bandwidthLimit ?? 0,
            transfer: transfer, maxAttempts: vault.maxAttempts, storageClass: vault.storageClass, serverSideEncryption: vault.serverSideEncryption, host: host)
        if let lock = vault.objectLock {
            objectLock = ObjectLockPolicy(settings: lock, vault: vault.name, bucket: vault.bucket, support: vault.profile.objectLock, terms: vault.profile.terms)
        }
        if overrides.bandwidthLimit == nil { bandwidthTimetable = vault.bandwidthTimetable }
        recipients = vault.recipients
        runBandwidthLimit = overrides.bandwidthLimit
        runConcurrency = overrides.concurrency
        if let role = vault.credentials.instanceRole {
            currentCredentials = {
                role.currentIfAvailable().map { SigningCredentials(accessKeyID: $0.accessKeyID, secretAccessKey: $0.secretAccessKey, sessionToken: $0.sessionToken) }
            }
        }
    }
}
