import AgentSupport
import HTTPTransport
import S3

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
            return AgentError(
                .retriesExhausted, "vault \(vault) did not answer after \(max(1, attempts.count)) attempts: \(t.message)",
                hint: "the journal keeps the upload; `agent resume --all` finishes it once the network or server is back (`agent test-connection --vault \(vault)` to check)",
                attempts: attempts)
        case .invalidResponse(let op, let detail):
            return AgentError(
                .retriesExhausted, "\(op) to vault \(vault): unreadable answer (\(detail))", hint: "retry later with `agent resume --all`; if it persists the endpoint may not be S3",
                attempts: attempts)
        case .service(let s):
            let said = s.code.isEmpty ? "HTTP \(s.status)" : "\(s.code)\(s.message.isEmpty ? "" : " (\(s.message))")"
            switch s.code {
            case "InvalidAccessKeyId":
                return AgentError(.invalidAccessKey, "vault \(vault) does not know the access key id: \(said)", hint: "check access_key_id for vault \(vault); run `agent test-connection --vault \(vault)`", attempts: attempts)
            case "SignatureDoesNotMatch":
                return AgentError(.signatureMismatch, "vault \(vault) rejected the request signature: \(said)", hint: "check the secret access key for vault \(vault); run `agent test-connection --vault \(vault)`", attempts: attempts)
            case "ExpiredToken", "InvalidToken", "TokenRefreshRequired":
                return AgentError(.expiredToken, "the session token for vault \(vault) is expired or invalid: \(said)", hint: "renew the session token (session_token_file) or use long-lived keys", attempts: attempts)
            case "NoSuchBucket":
                return AgentError(.noSuchBucket, "bucket \(bucket) does not exist at vault \(vault)", hint: "create the bucket or fix `bucket` for vault \(vault)", attempts: attempts)
            case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException", "InvalidRegionName", "InvalidRegion":
                return AgentError(.wrongRegion, "vault \(vault) is configured for the wrong region: \(said)", hint: "run `agent test-connection --vault \(vault)` to see the region the bucket is in and the line to set", attempts: attempts)
            case "AccessDenied", "AllAccessDisabled":
                return AgentError(.permissionDenied, "vault \(vault) denied \(action): \(said)", hint: "grant \(action) on bucket \(bucket) and its prefix to this key; run `agent test-connection --vault \(vault)`", attempts: attempts)
            case "QuotaExceeded", "StorageQuotaExceeded", "InsufficientStorage":
                return AgentError(.quotaExceeded, "vault \(vault) is out of quota: \(said)", hint: "raise the storage quota or prune old backups (`agent prune`)", attempts: attempts)
            default:
                if s.status == 403 {
                    return AgentError(.permissionDenied, "vault \(vault) denied \(action): \(said)", hint: "grant \(action) on bucket \(bucket) to this key; run `agent test-connection --vault \(vault)`", attempts: attempts)
                }
                if error.failure.isTransient {
                    return AgentError(
                        .retriesExhausted, "vault \(vault) kept failing (\(said)) after \(attempts.count) attempts",
                        hint: "the journal keeps the upload; `agent resume --all` finishes it later", attempts: attempts)
                }
                return AgentError(.rejected, "vault \(vault) rejected \(s.operation): \(said)", hint: "this is not fixed by retrying; check the vault's settings and the object key", attempts: attempts)
            }
        }
    }
}
