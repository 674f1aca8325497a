import AgentSupport
import Backups
import Config
import HTTPTransport
import Logging
import S3
import Upload

/// One vault opened for reading and deleting offsite copies: the S3 client with the vault's
/// retries and bandwidth limit, and the vault's words for keys and errors.
public final class VaultSession {
    public let vault: String
    public let bucket: String
    /// Object keys of this vault start with this ("web-01/").
    public let prefix: String
    public let client: S3Client
    public let http: HTTPClient
    public let logger: Logger
    /// Ranged requests in flight at once (the vault's `concurrency`).
    public let concurrency: Int
    /// The vault's `object_lock_mode` / `object_lock_days`, nil when it sets none.
    public let objectLock: ObjectLockSettings?

    public init(vault: ResolvedVault, http: HTTPClient, logger: Logger, retryBaseDelay: Double = 0.5) throws(AgentError) {
        // The upload target resolves endpoint, credentials and transfer options the same way for both directions.
        let target = try UploadTarget(vault: vault, host: "")
        self.vault = vault.name
        self.bucket = vault.bucket
        self.prefix = target.prefix
        self.http = http
        self.logger = logger
        self.concurrency = max(1, target.concurrency)
        self.objectLock = vault.objectLock
        var options = target.transfer
        options.maxSendRate = 0
        client = S3Client(
            http: http, location: target.location, credentials: target.credentials, options: options,
            retry: RetryPolicy(maxAttempts: target.maxAttempts, baseDelay: retryBaseDelay))
        // Instance-role credentials expire: long restores and verifies sign with fresh ones, as uploads do.
        client.currentCredentials = target.currentCredentials
        client.onRetry = { [logger, unowned client] op, failure, attempt, delay in
            logger.warning("\(client.retryMessage(op, failure, attempt: attempt, delay: delay))")
        }
        http.bandwidthLimit = target.bandwidthLimit
        http.bandwidthTimetable = target.bandwidthTimetable
        http.bandwidthShares = self.concurrency
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
            manifest = try OffsiteManifest.decode(response.bodyText)
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

extension VaultSession {
    /// A ranged GetObject (`Range: bytes=offset-(offset+length-1)`) into `sink`, to be sent with `client.send`.
    func rangedGet(key: String, offset: Int64, length: Int64, sink: ResponseSink) -> S3Client.Operation {
        S3Client.Operation(name: "GetObject", method: "GET", key: key, headers: [("Range", "bytes=\(offset)-\(offset + length - 1)")], sink: sink)
    }

    /// Why a ranged answer cannot be used, or nil when it carries exactly the bytes asked for.
    /// Read leniently: some servers answer a range with 200 instead of 206, but name it in
    /// `Content-Range`; a 200 without `Content-Range` is the whole object, usable only when asked for.
    static func rangeProblem(_ response: HTTPResponse, offset: Int64, length: Int64, objectSize: Int64) -> String? {
        if let range = response.header("Content-Range") {
            let expected = "bytes \(offset)-\(offset + length - 1)/"
            if !range.hasPrefix(expected) { return "asked for bytes \(offset)-\(offset + length - 1), the server sent \(range)" }
        } else if response.status == 200 && !(offset == 0 && length == objectSize) {
            return "the server ignored the Range header (HTTP 200 with the whole object)"
        }
        if response.bodyLength != length {
            return "asked for \(length) bytes at offset \(offset), received \(response.bodyLength)"
        }
        return nil
    }

    /// Splits `size` bytes into ranges of at most `chunkSize`.
    static func chunks(size: Int64, chunkSize: Int64) -> [(offset: Int64, length: Int64)] {
        var out: [(offset: Int64, length: Int64)] = []
        var offset: Int64 = 0
        while offset < size {
            let length = min(chunkSize, size - offset)
            out.append((offset, length))
            offset += length
        }
        return out
    }
}
