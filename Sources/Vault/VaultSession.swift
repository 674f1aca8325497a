import AgentSupport
import Backups
import Config
import HTTPTransport
import Logging
import S3

/// One vault opened for a command, in either direction: the S3 client built from the vault's
/// endpoint with its credentials, retries (`max_attempts`), bandwidth share and the HTTP client's
/// cancellation (SIGINT/SIGTERM), and the vault's words for keys and errors. Every command that
/// talks to a vault reaches it through one of these.
public final class VaultSession {
    public let endpoint: VaultEndpoint
    public var vault: String { endpoint.vault }
    public var bucket: String { endpoint.bucket }
    /// Object keys of this vault start with this ("web-01/").
    public var prefix: String { endpoint.prefix }
    public let client: S3Client
    public let http: HTTPClient
    public let logger: Logger
    /// Requests in flight at once (the vault's `concurrency`).
    public let concurrency: Int
    /// The vault's `object_lock_mode` / `object_lock_days`, nil when it sets none.
    public let objectLock: ObjectLockSettings?
    /// Requests retried and stalls cut so far (metrics).
    public private(set) var retries = 0
    public private(set) var stalls = 0

    /// Counts a stall the engine saw itself (one that ended a request's retries).
    public func countStall() { stalls += 1 }

    /// `http` brings the cancellation (`shouldCancel`); the session sets its bandwidth share.
    public init(endpoint: VaultEndpoint, objectLock: ObjectLockSettings? = nil, http: HTTPClient, logger: Logger, retryBaseDelay: Double = 0.5) {
        self.endpoint = endpoint
        self.http = http
        // Every event of this session names its vault as metadata (item 9 of issue 13).
        var logger = logger
        logger[metadataKey: "vault"] = .string(endpoint.vault)
        self.logger = logger
        self.concurrency = max(1, endpoint.concurrency)
        self.objectLock = objectLock
        var options = endpoint.transfer
        // The HTTP client paces the whole agent; no per-request send rate on top.
        options.maxSendRate = 0
        client = S3Client(
            http: http, location: endpoint.location, credentials: endpoint.credentials, options: options,
            retry: RetryPolicy(maxAttempts: endpoint.maxAttempts, baseDelay: retryBaseDelay))
        // Instance-role credentials expire: long transfers sign with fresh ones.
        client.currentCredentials = endpoint.currentCredentials
        client.onRetry = { [weak self, logger, unowned client] op, failure, attempt, delay in
            let metadata = VaultSession.metadata(op, attempt: attempt)
            if case .transport(let t) = failure, t.kind == .stalled {
                self?.stalls += 1
                logger.warning(
                    "\(client.describe(op)) stalled (\(t.message)); cutting it and retrying on a fresh connection (attempt \(attempt + 1))", metadata: metadata)
            } else {
                logger.warning("\(client.retryMessage(op, failure, attempt: attempt, delay: delay))", metadata: metadata)
            }
            self?.retries += 1
        }
        http.bandwidthLimit = endpoint.bandwidthLimit
        http.bandwidthShares = self.concurrency
        if let table = endpoint.bandwidthTimetable {
            http.bandwidthTimetable = table
            http.onBandwidthChange = { rate in
                logger.info("bandwidth limit now \(BandwidthTimetable.format(rate)) (bandwidth_limit timetable)", metadata: ["bandwidth_limit": .stringConvertible(rate)])
            }
        }
    }

    /// The fields of a request's log events: its operation, object key, part number and attempt.
    public static func metadata(_ op: S3Client.Operation, attempt: Int? = nil) -> Logger.Metadata {
        var m: Logger.Metadata = ["operation": .string(op.name)]
        if let key = op.key { m["key"] = .string(key) }
        if let part = op.query.first(where: { $0.name == "partNumber" })?.value { m["part"] = Int(part).map { .stringConvertible($0) } ?? .string(part) }
        if let attempt { m["attempt"] = .stringConvertible(attempt) }
        return m
    }

    /// A session for a configured vault.
    public convenience init(vault: ResolvedVault, overrides: RunOverrides = RunOverrides(), http: HTTPClient, logger: Logger, retryBaseDelay: Double = 0.5) throws(AgentError) {
        self.init(endpoint: try VaultEndpoint(vault: vault, overrides: overrides), objectLock: vault.objectLock, http: http, logger: logger, retryBaseDelay: retryBaseDelay)
    }

    /// `<prefix><backup>/`: where every object of a backup lives.
    public func backupPrefix(_ backup: String) -> String { prefix + backup + "/" }

    public func manifestKey(_ backup: String) -> String { backupPrefix(backup) + Backup.offsiteManifestName }

    /// The backup's offsite manifest; nil when the vault holds none (an incomplete or absent backup).
    public func manifest(of backup: String) throws(AgentError) -> OffsiteManifest? {
        let response: HTTPResponse
        do {
            response = try client.getObject(key: manifestKey(backup), sink: .memory(limit: 64 << 20))
        } catch {
            if let s = error.failure.serviceError, s.status == 404 { return nil }
            throw storageError(error, action: "s3:GetObject")
        }
        let manifest: OffsiteManifest
        do throws(OffsiteManifest.DecodeError) {
            manifest = try OffsiteManifest.decode(bytes: response.body)
        } catch {
            throw AgentError(
                .rejected, "the offsite manifest \(manifestKey(backup)) in vault \(vault) is not a manifest this agent can read: \(error)",
                hint: "check the object with your provider's console; upload the backup again with `agent upload --force` if its source still exists",
                exit: .failed)
        }
        return manifest
    }

    /// The manifest, or NOT_FOUND naming what the vault holds instead.
    public func requireManifest(of backup: String) throws(AgentError) -> OffsiteManifest {
        if let m = try manifest(of: backup) { return m }
        let objects: [S3Object]
        do {
            objects = try client.listObjectsV2(prefix: backupPrefix(backup), maxKeys: 1).objects
        } catch {
            throw storageError(error, action: "s3:ListBucket")
        }
        if objects.isEmpty {
            throw AgentError(
                .notFound, "vault \(vault) holds no backup \(backup) (nothing under \(backupPrefix(backup)))",
                hint: "run `agent list --vault \(vault)` for the backups it holds")
        }
        throw AgentError(
            .notFound, "backup \(backup) in vault \(vault) is incomplete: it has no \(Backup.offsiteManifestName), so its upload never finished",
            hint: "finish it with `agent resume --all` on the server that sent it, or pick a complete backup from `agent list --vault \(vault)`")
    }

    /// A storage failure in the operator's words; transient ones say to run the command again.
    public func storageError(_ error: S3Error, action: String, rerun: String? = nil) -> AgentError {
        var e = StorageErrors.agentError(error, vault: vault, bucket: bucket, action: action)
        if e.exitStatus == .tempFail {
            let again =
                rerun.map { "run `\($0)` again once the network or the vault is back; it continues where it stopped" }
                ?? "run the command again once the network or the vault is back"
            if [ErrorCode.dnsFailure, .connectionRefused, .connectionTimeout].contains(e.code) {
                e.hint = "run `agent test-connection --vault \(vault)` to see what is wrong with the endpoint; then \(again)"
            } else {
                e.hint = again + " (`agent test-connection --vault \(vault)` to check)"
            }
        }
        return e
    }
}
