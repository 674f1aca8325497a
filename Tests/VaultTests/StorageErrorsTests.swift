import AgentSupport
import Config
import HTTPTransport
import S3
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import Vault

/// A network failure after the retries is named with test-connection's code (exit 75: the
/// timer tries again); a certificate that does not verify is exit 5; a time refusal is CLOCK_SKEW.
struct StorageErrorsTests {
    static let cases: [(TransportError.Kind, ErrorCode, AgentSupport.ExitStatus)] = [
        (.dns, .dnsFailure, .tempFail),
        (.connectionRefused, .connectionRefused, .tempFail),
        (.connectTimeout, .connectionTimeout, .tempFail),
        (.tls, .tlsError, .storage),
        (.connectionLost, .retriesExhausted, .tempFail),
    ]

    @Test func transportFailuresKeepTheirCause() {
        for (kind, code, exit) in Self.cases {
            let error = S3Error(failure: .transport(TransportError(kind: kind, curlCode: 7, message: "m")), attempts: ["attempt 1: m", "attempt 2: m"])
            let mapped = StorageErrors.agentError(error, vault: "main", bucket: "b", action: "s3:PutObject")
            #expect(mapped.code == code, "\(kind)")
            #expect(mapped.exitStatus == exit, "\(kind)")
            #expect(mapped.hint.contains("agent test-connection --vault main"), "\(kind)")
        }
    }

    @Test func aTimeRefusalIsClockSkewNeverAPermission() {
        for (code, message) in [
            ("RequestTimeTooSkewed", ""), ("AccessDenied", "The difference between the request time and the server's time exceeds the maximum allowed"),
        ] {
            let s = S3ServiceError(status: 403, code: code, message: message, requestID: "", details: [:], headers: [], operation: "GetObject")
            let mapped = StorageErrors.agentError(S3Error(failure: .service(s), attempts: []), vault: "main", bucket: "b", action: "s3:GetObject")
            #expect(mapped.code == .clockSkew)
            #expect(mapped.exitStatus == .storage)
            #expect(mapped.hint.contains("timedatectl set-ntp true"))
        }
    }

    /// Review finding 3: a denial naming a retention action asks for that grant; a bucket without
    /// Object Lock is OBJECT_LOCK_DISABLED, not a locked object.
    @Test func retentionPermissionsAndAMissingLockAreNamedForWhatTheyAre() {
        func mapped(_ status: Int, _ code: String, _ message: String) -> AgentError {
            let s = S3ServiceError(status: status, code: code, message: message, requestID: "", details: [:], headers: [], operation: "PutObjectRetention")
            return StorageErrors.agentError(S3Error(failure: .service(s), attempts: []), vault: "main", bucket: "b", action: "s3:PutObject")
        }
        let denied = mapped(
            403, "AccessDenied",
            "User: arn:aws:iam::1:user/b is not authorized to perform: s3:PutObjectRetention on resource: \"arn:aws:s3:::b/k\" because no identity-based policy allows the s3:PutObjectRetention action")
        #expect(denied.code == .permissionDenied)
        #expect(denied.hint.contains("grant s3:PutObjectRetention"))
        let disabled = mapped(400, "InvalidRequest", "Bucket is missing Object Lock Configuration")
        #expect(disabled.code == .objectLockDisabled)
        #expect(disabled.exitStatus == .storage)
        #expect(disabled.hint.contains("enable Object Lock on bucket b"))
        #expect(mapped(403, "AccessDenied", "Access Denied because object protected by object lock.").code == .objectLocked)
    }
}

/// A download that cannot be written is our disk's failure, never the upload side's (`UNREADABLE`)
/// nor the vault's: a full disk is NO_SPACE (exit 1), another write failure RESTORE_WRITE_FAILED.
struct DownloadWriteFailureTests {
    @Test func aFullDiskIsNoSpaceNotAnUploadError() {
        for errnoValue in [ENOSPC, EDQUOT] {
            let t = TransportError(kind: .other, curlCode: 23, message: "Failed writing received data to disk/application", writeErrno: errnoValue)
            let mapped = StorageErrors.agentError(S3Error(failure: .transport(t), attempts: []), vault: "main", bucket: "b", action: "s3:GetObject")
            #expect(mapped.code == .noSpace)
            #expect(mapped.exitStatus == .failed)
            #expect(!mapped.message.contains("sending"))
        }
        let t = TransportError(kind: .other, curlCode: 23, message: "Failed writing received data", writeErrno: EACCES)
        let mapped = StorageErrors.agentError(S3Error(failure: .transport(t), attempts: []), vault: "main", bucket: "b", action: "s3:GetObject")
        #expect(mapped.code == .restoreWriteFailed)
        #expect(mapped.exitStatus == .failed)
    }
}
