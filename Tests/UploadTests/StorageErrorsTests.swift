import AgentSupport
import HTTPTransport
import S3
import Testing

@testable import Upload

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
}
