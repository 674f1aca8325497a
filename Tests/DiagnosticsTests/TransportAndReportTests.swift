import AgentSupport
import Diagnostics
import HTTPTransport
import Testing

@Suite struct TransportDiagnosisTests {
    @Test func classifiesCertificateProblemsByVerifyResultAndMessage() {
        typealias T = TransportDiagnosis
        #expect(T.certificateProblem(message: "", verifyResult: 10) == .expired)
        #expect(T.certificateProblem(message: "", verifyResult: 18) == .selfSigned)
        #expect(T.certificateProblem(message: "", verifyResult: 20) == .unknownAuthority)
        #expect(T.certificateProblem(message: "SSL certificate problem: self-signed certificate", verifyResult: 0) == .selfSigned)
        #expect(T.certificateProblem(message: "SSL certificate problem: certificate has expired", verifyResult: 0) == .expired)
        #expect(T.certificateProblem(message: "SSL certificate problem: unable to get local issuer certificate", verifyResult: 0) == .unknownAuthority)
        #expect(
            T.certificateProblem(message: "SSL: no alternative certificate subject name matches target host name 'a.b.s3.amazonaws.com'", verifyResult: 0)
                == .wrongHost)
        #expect(T.certificateProblem(message: "error:0A00010B:SSL routines::wrong version number", verifyResult: 0) == .handshake)
    }

    @Test func dottedBucketWithVirtualHostsIsFixedWithPathStyle() {
        let error = TransportError(kind: .tls, curlCode: 60, message: "SSL: no alternative certificate subject name matches target host name 'my.backups.s3.amazonaws.com'")
        let f = TransportDiagnosis.finding(error, host: "my.backups.s3.amazonaws.com", port: 443, verifyResult: 0, context: Fixtures.context(bucket: "my.backups"))
        #expect(f.check == .tls && f.code == .tlsError)
        #expect(f.fix.contains("`path_style = true`"))
    }

    @Test func eachTransportKindHasItsCheck() {
        let ctx = Fixtures.context()
        #expect(TransportDiagnosis.finding(TransportError(kind: .dns, curlCode: 6, message: "Could not resolve host"), host: "x.invalid", port: 443, verifyResult: 0, context: ctx).code == .dnsFailure)
        let refused = TransportDiagnosis.finding(TransportError(kind: .connectionRefused, curlCode: 7, message: "Connection refused"), host: "h", port: 9000, verifyResult: 0, context: ctx)
        #expect(refused.check == .connect && refused.code == .connectionRefused && refused.explanation.contains("h:9000"))
        let timeout = TransportDiagnosis.finding(TransportError(kind: .connectTimeout, curlCode: 28, message: "Connection timed out"), host: "h", port: 443, verifyResult: 0, context: ctx)
        #expect(timeout.code == .connectionTimeout && timeout.fix.contains("connect_timeout"))
        let selfSigned = TransportDiagnosis.finding(TransportError(kind: .tls, curlCode: 60, message: "self-signed certificate"), host: "h", port: 443, verifyResult: 18, context: ctx)
        #expect(selfSigned.fix.contains("ca_file"))
    }
}

@Suite struct ConnectionReportTests {
    func report(_ failing: CheckID?, status: CheckStatus = .fail) -> ConnectionReport {
        let checks = CheckID.allCases.map { id -> CheckResult in
            guard let failing else { return CheckResult(id: id, status: .pass) }
            if id == failing { return CheckResult(id: id, status: status, code: .noSuchBucket, explanation: "Bucket x does not exist.", fix: "set `bucket`") }
            return CheckResult(id: id, status: id < failing ? .pass : .skip)
        }
        return ConnectionReport(vault: "primary", provider: "aws", endpoint: "https://s3.us-east-1.amazonaws.com", region: "us-east-1", bucket: "x", checks: checks)
    }

    @Test func exitStatusFollowsTheFirstFailure() {
        #expect(report(nil).exitStatus == .success)
        #expect(report(.bucket, status: .warn).exitStatus == .success)
        #expect(report(.config).exitStatus == .config)
        #expect(report(.bucket).exitStatus == .storage)
    }

    @Test func jsonHasTheSpecShape() throws {
        let json = report(.bucket).json
        #expect(json["ok"]?.boolValue == false)
        for key in ["vault", "provider", "endpoint", "region", "bucket"] { #expect(json[key]?.stringValue != nil, "\(key)") }
        let checks = try #require(json["checks"]?.arrayValue)
        #expect(checks.map { $0["id"]?.stringValue } == CheckID.allCases.map(\.rawValue))
        let bucket = checks[7]
        #expect(bucket["status"]?.stringValue == "fail" && bucket["code"]?.stringValue == "NO_SUCH_BUCKET" && bucket["ms"]?.intValue == 0)
        #expect(checks[0]["code"] == .null)
    }

    @Test func textShowsTheTableThenTheFix() {
        let text = report(.bucket).text
        #expect(text.contains("bucket       fail"))
        #expect(text.contains("bucket: FAILED NO_SUCH_BUCKET\n  why: Bucket x does not exist.\n  fix: set `bucket`"))
        #expect(text.hasSuffix("result: FAILED (1 failure)"))
    }
}
