import AgentSupport
import Config
import HTTPTransport
import S3
import SigV4

#if canImport(Glibc)
    import Glibc
#endif

/// Turns a failed S3 request during a transfer into an operator's error: the SPEC 3/7 code,
/// what the server said, and the fix. (The connection test explains in more depth.)
public enum StorageErrors {
    public static func agentError(_ error: S3Error, vault: String, bucket: String, action: String) -> AgentError {
        let attempts = error.attempts
        switch error.failure {
        case .transport(let t):
            if t.kind == .aborted {
                return AgentError(.interrupted, "interrupted; the journal keeps what was sent", hint: "run `agent resume --all` to finish", exit: .tempFail, attempts: attempts)
            }
            if t.writeErrno != 0 {
                // Our side failed writing a download (restore, verify): the disk, not the vault.
                return writeFailure("writing what vault \(vault) sent failed: \(t.message)", errno: t.writeErrno, attempts: attempts)
            }
            if t.kind == .fileRead {
                // Our side failed, not the vault: the source file, not the network.
                if t.message.contains("shorter") {
                    return AgentError(.sourceChanged, "a file changed while being sent: \(t.message)", hint: "upload backups only after the backup job finished writing them; run the upload again", attempts: attempts)
                }
                return AgentError(.unreadable, "reading a backup file failed while sending: \(t.message)", hint: "check the disk and the file's permissions", attempts: attempts)
            }
            if t.kind == .tls {
                return AgentError(.tlsError, "TLS to vault \(vault) failed: \(t.message)", hint: "run `agent test-connection --vault \(vault)`; set ca_file for a private CA", attempts: attempts)
            }
            let tries = "after \(max(1, attempts.count)) attempt\(attempts.count > 1 ? "s" : "")"
            let check = "run `agent test-connection --vault \(vault)` to check the endpoint; the journal keeps what was sent, and the next run (`agent resume --all`) continues it"
            // The cause named with test-connection's code; exit 75: the timer tries again.
            switch t.kind {
            case .dns:
                return AgentError(
                    .dnsFailure, "the host of vault \(vault)'s endpoint does not resolve (\(tries)): \(t.message)",
                    hint: "check `endpoint` for vault \(vault) and the server's DNS; \(check)", exit: .tempFail, attempts: attempts)
            case .connectionRefused:
                return AgentError(
                    .connectionRefused, "vault \(vault)'s endpoint refused the connection (\(tries)): \(t.message)",
                    hint: "check the host and port in `endpoint` for vault \(vault) and that the storage service is running; \(check)", exit: .tempFail,
                    attempts: attempts)
            case .connectTimeout:
                return AgentError(
                    .connectionTimeout, "vault \(vault)'s endpoint did not accept a connection in time (\(tries)): \(t.message)",
                    hint: "check `endpoint` for vault \(vault) and that a firewall lets this server reach it; \(check)", exit: .tempFail, attempts: attempts)
            default:
                return AgentError(
                    .retriesExhausted, "vault \(vault) did not answer \(tries): \(t.message)",
                    hint: "the journal keeps the upload; `agent resume --all` finishes it once the network or server is back (`agent test-connection --vault \(vault)` to check)",
                    attempts: attempts)
            }
        case .invalidResponse(let op, let detail):
            return AgentError(
                .retriesExhausted, "\(op) to vault \(vault): unreadable answer (\(detail))", hint: "retry later with `agent resume --all`; if it persists the endpoint may not be S3",
                attempts: attempts)
        case .service(let s):
            let said = s.code.isEmpty ? "HTTP \(s.status)" : "\(s.code)\(s.message.isEmpty ? "" : " (\(s.message))")"
            let check = "run `agent test-connection --vault \(vault)`"
            // The shared mapping (also test-connection's): code and message decide, not the status alone.
            switch Refusal.of(s) {
            case .clockSkew:
                let local = Int64(wallClockSeconds())
                let server = Refusal.serverTime(s)
                // A correction was tried this run (the S3 client re-signs once with the server's time).
                let corrected = server != nil && ClockOffsets.lastSeen != nil
                return AgentError(
                    .clockSkew,
                    "vault \(vault): " + ClockSkewText.refused(local: local, server: server, said: "(\(s.operation): \(said))")
                        + (corrected ? " Signing with the server's time did not help either." : ""),
                    hint: ClockSkewText.fix, exit: .storage, attempts: attempts)
            case .invalidAccessKey:
                return AgentError(.invalidAccessKey, "vault \(vault) does not know the access key id: \(said)", hint: "check access_key_id for vault \(vault); \(check)", attempts: attempts)
            case .signatureMismatch:
                return AgentError(.signatureMismatch, "vault \(vault) rejected the request signature: \(said)", hint: "check the secret access key for vault \(vault); \(check)", attempts: attempts)
            case .expiredToken:
                return AgentError(.expiredToken, "the session token for vault \(vault) is expired or invalid: \(said)", hint: "renew the session token (session_token_file) or use long-lived keys", attempts: attempts)
            case .accountDisabled:
                return AgentError(.invalidAccessKey, "vault \(vault) refuses every request from this account: \(said)", hint: "check the account's standing and the key's status with the provider; \(check)", attempts: attempts)
            case .noSuchBucket:
                return AgentError(.noSuchBucket, "bucket \(bucket) does not exist at vault \(vault)", hint: "create the bucket or fix `bucket` for vault \(vault)", attempts: attempts)
            case .invalidBucketName:
                return AgentError(.invalidBucketName, "vault \(vault) rejects the bucket name \(bucket): \(said)", hint: "set `bucket` for vault \(vault) to the bucket's exact name", attempts: attempts)
            case .wrongRegion:
                return AgentError(.wrongRegion, "vault \(vault) is configured for the wrong region: \(said)", hint: "\(check) to see the region the bucket is in and the line to set", attempts: attempts)
            case .quota:
                return AgentError(.quotaExceeded, "vault \(vault) is out of quota: \(said)", hint: "raise the storage quota or prune old backups (`agent prune`)", attempts: attempts)
            case .kms(let named):
                let kmsAction = named ?? "the KMS key"
                return AgentError(
                    .permissionDenied, "vault \(vault) denied \(kmsAction) on the bucket's KMS key during \(s.operation): \(said)",
                    hint: "allow \(named ?? "kms:GenerateDataKey and kms:Decrypt") on the bucket's KMS key to this key (key policy or IAM policy); \(check)", attempts: attempts)
            case .objectLock:
                return AgentError(
                    .objectLocked, "vault \(vault) refused \(s.operation) because of Object Lock (retention or a legal hold): \(said)",
                    hint: "objects under retention cannot be changed or deleted until it passes; check the bucket's Object Lock settings and object_lock_mode/object_lock_days for vault \(vault)",
                    attempts: attempts)
            case .objectLockDisabled:
                return AgentError(
                    .objectLockDisabled, "vault \(vault) refused \(s.operation) because bucket \(bucket) does not have Object Lock enabled: \(said)",
                    hint: "enable Object Lock on bucket \(bucket), or remove object_lock_mode/object_lock_days from vault \(vault); \(check) shows the provider's way to enable it",
                    attempts: attempts)
            case .permission(let named):
                let denied = named ?? action
                return AgentError(.permissionDenied, "vault \(vault) denied \(denied): \(said)", hint: "grant \(denied) on bucket \(bucket) and its prefix to this key; \(check)", attempts: attempts)
            case nil:
                if error.failure.isTransient {
                    return AgentError(
                        .retriesExhausted, "vault \(vault) kept failing (\(said)) after \(attempts.count) attempts",
                        hint: "the journal keeps the upload; `agent resume --all` finishes it later", attempts: attempts)
                }
                return AgentError(.rejected, "vault \(vault) rejected \(s.operation): \(said)", hint: "this is not fixed by retrying; check the vault's settings and the object key", attempts: attempts)
            }
        }
    }

    /// Where downloaded bytes go and how many are still to come: NO_SPACE names them.
    public struct WriteTarget: Sendable, Equatable {
        public var directory: String
        public var bytesNeeded: Int64
        /// Bytes free on its filesystem (`freeBytes`); nil: unknown.
        public var bytesFree: Int64?

        public init(directory: String, bytesNeeded: Int64, bytesFree: Int64?) {
            self.directory = directory
            self.bytesNeeded = bytesNeeded
            self.bytesFree = bytesFree
        }
    }

    /// The one mapping of a failed write of what a vault sent (a restored file, the restore
    /// journal, a range libcurl wrote): `NO_SPACE` when the filesystem is full or over quota
    /// (naming the target, the bytes still to write and the bytes free, when known), else
    /// `RESTORE_WRITE_FAILED`. Both exit 1: the disk, not the vault.
    public static func writeFailure(_ what: String, errno code: Int32, target: WriteTarget? = nil, attempts: [String] = []) -> AgentError {
        if code == ENOSPC || code == EDQUOT { return noSpace(target, cause: "\(what): \(String(cString: strerror(code)))", attempts: attempts) }
        return AgentError(
            .restoreWriteFailed, "\(what): \(String(cString: strerror(code)))",
            hint: "check free space and permissions of the restore target, or restore elsewhere with `--to DIR`", exit: .failed, attempts: attempts)
    }

    /// The target filled up (or would, `cause` nil: found before downloading). Nothing
    /// half-written is ever at a final path: files are renamed into place only once whole and checked.
    public static func noSpace(_ target: WriteTarget?, cause: String? = nil, attempts: [String] = []) -> AgentError {
        var message: String
        if let target {
            let free = target.bytesFree.map { "\($0) bytes (\(Units.formatSize($0))) free" } ?? "free space unknown"
            message = "no space left for restoring into \(target.directory): \(target.bytesNeeded) bytes (\(Units.formatSize(target.bytesNeeded))) still to write, \(free)"
            if let cause { message += " (\(cause))" }
        } else {
            message = "no space left: \(cause ?? "the target's filesystem is full")"
        }
        return AgentError(
            .noSpace, message,
            hint: "free space on that filesystem (`df -h`), or restore elsewhere with `--to DIR`; a re-run continues where this one stopped",
            exit: .failed, attempts: attempts)
    }

    /// Bytes an unprivileged writer may still use on the filesystem holding `path`.
    public static func freeBytes(_ path: String) -> Int64? {
        var fs = statvfs()
        guard statvfs(path, &fs) == 0 else { return nil }
        let (bytes, overflow) = Int64(clamping: fs.f_bavail).multipliedReportingOverflow(by: Int64(clamping: fs.f_frsize))
        return overflow ? Int64.max : bytes
    }
}
