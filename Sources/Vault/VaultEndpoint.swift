import AgentSupport
import Config
import Credentials
import HTTPTransport
import S3
import SigV4

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

/// How to reach a vault, for either direction: where (endpoint, bucket, prefix), as whom
/// (credentials, renewed for an instance role), and how hard (retries, timeouts, requests in
/// flight, bandwidth). The one translation of a configured vault into S3 terms.
public struct VaultEndpoint: Sendable {
    public var vault: String
    public var location: S3Location
    public var credentials: SigningCredentials
    /// Renewed credentials (an instance role's); nil: `credentials` stay valid for the run.
    public var currentCredentials: (@Sendable () -> SigningCredentials?)?
    /// Object keys start with this ("web-01/").
    public var prefix: String
    public var transfer: TransferOptions
    /// Tries per request (`max_attempts`).
    public var maxAttempts: Int
    /// Requests in flight at once (`concurrency`, or `--concurrency`).
    public var concurrency: Int
    /// Bytes per second for the whole agent (0: none).
    public var bandwidthLimit: Int64
    /// `bandwidth_limit` as a timetable (it then decides the limit as the clock passes its times).
    public var bandwidthTimetable: BandwidthTimetable?

    public var bucket: String { location.bucket }

    public init(
        vault: String, location: S3Location, credentials: SigningCredentials, currentCredentials: (@Sendable () -> SigningCredentials?)? = nil,
        prefix: String, transfer: TransferOptions = TransferOptions(), maxAttempts: Int, concurrency: Int, bandwidthLimit: Int64 = 0,
        bandwidthTimetable: BandwidthTimetable? = nil
    ) {
        self.vault = vault
        self.location = location
        self.credentials = credentials
        self.currentCredentials = currentCredentials
        self.prefix = prefix
        self.transfer = transfer
        self.maxAttempts = maxAttempts
        self.concurrency = concurrency
        self.bandwidthLimit = bandwidthLimit
        self.bandwidthTimetable = bandwidthTimetable
    }

    /// The endpoint of a configured vault, with this run's command-line limits.
    public init(vault: ResolvedVault, overrides: RunOverrides = RunOverrides()) throws(AgentError) {
        guard let location = S3Location(endpoint: vault.endpoint, bucket: vault.bucket, region: vault.region, pathStyle: vault.pathStyle) else {
            throw AgentError(
                .invalidConfig, "vault \(vault.name): endpoint \(vault.endpoint) is not an http(s) URL",
                hint: "set endpoint = \"https://host[:port]\" for vault \(vault.name)")
        }
        var transfer = TransferOptions()
        transfer.connectTimeout = vault.connectTimeout
        transfer.stallTimeout = vault.stallTimeout
        transfer.stallMinRate = vault.stallMinRate
        transfer.caFile = vault.caFile
        var renewed: (@Sendable () -> SigningCredentials?)?
        if let role = vault.credentials.instanceRole {
            renewed = {
                role.currentIfAvailable().map { SigningCredentials(accessKeyID: $0.accessKeyID, secretAccessKey: $0.secretAccessKey, sessionToken: $0.sessionToken) }
            }
        }
        self.init(
            vault: vault.name, location: location,
            credentials: SigningCredentials(
                accessKeyID: vault.credentials.accessKeyID, secretAccessKey: vault.credentials.secretAccessKey, sessionToken: vault.credentials.sessionToken),
            currentCredentials: renewed, prefix: vault.prefix, transfer: transfer, maxAttempts: vault.maxAttempts,
            concurrency: overrides.concurrency ?? vault.concurrency, bandwidthLimit: overrides.bandwidthLimit ?? vault.bandwidthLimit ?? 0,
            // A rate given for this run replaces the timetable.
            bandwidthTimetable: overrides.bandwidthLimit == nil ? vault.bandwidthTimetable : nil)
    }
}
