import AgentSupport
import Age
import HTTPTransport
import Providers
import S3
import SigV4
import Vault

/// Everything the engine needs to know about one vault, resolved from the config and profile.
public struct UploadTarget: Sendable {
    public var vault: String
    public var location: S3Location
    public var credentials: SigningCredentials
    /// Renewed credentials (an instance role's); nil: `credentials` stay valid for the run.
    public var currentCredentials: (@Sendable () -> SigningCredentials?)? = nil
    /// Object keys start with this ("web-01/").
    public var prefix: String
    public var limits: MultipartLimits
    public var integrity: IntegritySupport
    /// Configured part size (nil: chosen per file).
    public var partSize: Int64?
    /// Files above this size use multipart.
    public var multipartThreshold: Int64
    public var concurrency: Int
    /// Bytes per second for the whole agent (0: none).
    public var bandwidthLimit: Int64
    /// `bandwidth_limit` as a timetable (it then decides the limit as the clock passes its times).
    public var bandwidthTimetable: BandwidthTimetable? = nil
    public var transfer: TransferOptions
    public var maxAttempts: Int
    public var storageClass: String?
    public var serverSideEncryption: String?
    public var host: String
    /// Object Lock retention every object is written with (`object_lock_mode`); nil: none.
    public var objectLock: ObjectLockPolicy? = nil
    /// age recipients: non-empty means every file is stored encrypted as `<key>.age`.
    public var recipients: [AgeRecipient] = []
    public var encrypts: Bool { !recipients.isEmpty }
    /// Limits given on the command line for this run (recorded in a new journal entry).
    public var runBandwidthLimit: Int64? = nil
    public var runConcurrency: Int? = nil

    public init(
        vault: String, location: S3Location, credentials: SigningCredentials, prefix: String, limits: MultipartLimits, integrity: IntegritySupport,
        partSize: Int64?, multipartThreshold: Int64, concurrency: Int, bandwidthLimit: Int64, transfer: TransferOptions, maxAttempts: Int,
        storageClass: String?, serverSideEncryption: String?, host: String
    ) {
        self.vault = vault
        self.location = location
        self.credentials = credentials
        self.prefix = prefix
        self.limits = limits
        self.integrity = integrity
        self.partSize = partSize
        self.multipartThreshold = multipartThreshold
        self.concurrency = concurrency
        self.bandwidthLimit = bandwidthLimit
        self.transfer = transfer
        self.maxAttempts = maxAttempts
        self.storageClass = storageClass
        self.serverSideEncryption = serverSideEncryption
        self.host = host
    }

    /// Whether bodies sent to this vault carry Content-MD5: when that is the mechanism the
    /// profile relies on. Where the provider verifies the signed SHA-256 payload, MD5 would
    /// cost a second hash of every byte for no extra protection (SPEC 5, issue 6).
    public var needsMD5: Bool {
        // AWS refuses a locked write or part without Content-MD5 or a checksum header, and some
        // servers accept only Content-MD5 there: a locked vault sends it whatever the profile says.
        integrity.preferred == .contentMD5 || objectLock != nil
    }

    /// Whether bodies sent to this vault carry `x-amz-checksum-crc32c` under `UNSIGNED-PAYLOAD`
    /// instead of a signed SHA-256 (issue 17): where the profile says the provider verifies CRC-32C
    /// and accepts an unsigned payload, and the endpoint is HTTPS (TLS authenticates the body on
    /// the way; over plain HTTP the signature must cover it). A multipart upload then asks for a
    /// full-object CRC-32C. An Object Lock vault keeps its signed payload and Content-MD5.
    public var sendsCRC32C: Bool {
        integrity.verifies(.checksumCRC32C) && integrity.unsignedPayload && location.scheme == "https" && objectLock == nil
    }

    /// The digests every body of this vault needs.
    public var payloadDigests: DigestKinds {
        var kinds: DigestKinds = sendsCRC32C ? [.crc32c] : [.sha256]
        if needsMD5 { kinds.insert(.md5) }
        return kinds
    }

    /// Targets that send the same file in the same parts, so each part is read and hashed once
    /// for all of them (SPEC 5.1): one part size and threshold every vault accepts. When the
    /// providers' rules leave no common part size, each keeps its own plan.
    public static func sharingParts(_ targets: [UploadTarget]) -> [UploadTarget] {
        guard targets.count > 1 else { return targets }
        let minPart = targets.map(\.limits.minPartSize).max() ?? 0
        let maxPart = targets.map(\.limits.maxPartSize).min() ?? 0
        guard minPart <= maxPart else { return targets }
        let maxParts = targets.map(\.limits.maxParts).min() ?? 10000
        let threshold = targets.map { min($0.multipartThreshold, $0.limits.maxSinglePut) }.min() ?? 0
        let requested = targets.compactMap(\.partSize).max()
        return targets.map { t in
            var shared = t
            shared.limits.minPartSize = minPart
            shared.limits.maxPartSize = maxPart
            shared.limits.maxParts = maxParts
            shared.multipartThreshold = threshold
            shared.partSize = requested
            return shared
        }
    }

    /// How to reach the vault (the same wiring restore, verify and prune use).
    public var endpoint: VaultEndpoint {
        VaultEndpoint(
            vault: vault, location: location, credentials: credentials, currentCredentials: currentCredentials, prefix: prefix, transfer: transfer,
            maxAttempts: maxAttempts, concurrency: concurrency, bandwidthLimit: bandwidthLimit, bandwidthTimetable: bandwidthTimetable)
    }

    /// The object key of a file of a backup.
    public func key(backup: String, relativePath: String) -> String {
        prefix + backup + "/" + relativePath
    }

    /// Where a file of a backup is stored: its key, with `.age` on an encrypting vault.
    public func objectKey(backup: String, relativePath: String) -> String {
        key(backup: backup, relativePath: relativePath) + (encrypts ? ".age" : "")
    }
}
