import AgentSupport
import Age
import Providers

/// One vault with every setting resolved: the profile applied, defaults filled, the endpoint
/// rendered and the credentials read. What the S3 client and the upload engine work from.
public struct ResolvedVault: Sendable {
    public var name: String
    public var bucket: String
    public var region: String
    /// The base URL: scheme and host, optional port, no trailing slash.
    public var endpoint: String
    /// Object keys start with this; empty or ending in "/".
    public var prefix: String
    public var profile: ProviderProfile
    /// True for path-style requests (`endpoint/bucket/key`), false for virtual-hosted.
    public var pathStyle: Bool
    public var credentials: VaultCredentials
    /// nil: choose the part size from the file size and the profile's limits.
    public var partSize: Int64?
    /// Files above this size go multipart; nil: the profile's threshold.
    public var multipartThreshold: Int64? = nil
    public var concurrency: Int
    /// Bytes per second, nil for unlimited.
    public var bandwidthLimit: Int64?
    public var storageClass: String?
    public var serverSideEncryption: String?
    public var caFile: String?
    /// Seconds.
    public var connectTimeout: Double
    /// Seconds a transfer may stay under `stallMinRate` before it is cut and retried.
    public var stallTimeout: Double
    /// Bytes per second.
    public var stallMinRate: Int64
    /// Attempts per request for transient failures.
    public var maxAttempts: Int
    public var keepDays: Int?
    public var keepLast: Int?
    /// `object_lock_mode` / `object_lock_days`; nil: objects are written without retention.
    public var objectLock: ObjectLockSettings? = nil
    public var keepDaily: Int? = nil
    public var keepWeekly: Int? = nil
    public var keepMonthly: Int? = nil
    public var keepYearly: Int? = nil
    /// `bandwidth_limit` as a timetable; nil when it is a single rate (`bandwidthLimit`) or unset.
    public var bandwidthTimetable: BandwidthTimetable? = nil
    /// The vault's `ping_url`, else the top-level one.
    public var pingURL: String? = nil
    /// age X25519 recipients every stored file is encrypted to (`encrypt_to`, `encrypt_to_file`);
    /// empty: the vault stores plaintext.
    public var recipients: [AgeRecipient] = []
    /// The identity that decrypts this vault's copies (restore side; keep it off the server).
    public var identityFile: String? = nil

    /// Whether the vault asks for client-side encryption.
    public var encrypts: Bool { !recipients.isEmpty }

    public static let defaultConcurrency = 4
    public static let defaultConnectTimeout = 10.0
    public static let defaultStallTimeout = 30.0
    public static let defaultStallMinRate: Int64 = 1024
    public static let defaultMaxAttempts = 5
}
