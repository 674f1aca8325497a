import AgentSupport
import HTTPTransport
import SigV4
import Testing

@testable import S3

/// The shared 403 mapping: the same code and message mean the same diagnosis for the transfer
/// commands and test-connection. Answers as the servers send them (sources in Refusal.swift).
struct RefusalTests {
    struct Case: Sendable, CustomStringConvertible {
        var status: Int
        var code: String
        var message: String
        var expected: Refusal?
        var description: String { "\(status) \(code) \(message.prefix(40))" }
    }

    static let table: [Case] = [
        // clock: by code, or by the words of servers that answer AccessDenied
        Case(status: 403, code: "RequestTimeTooSkewed", message: "The difference between the request time and the current time is too large.", expected: .clockSkew),
        Case(status: 403, code: "AccessDenied", message: "The difference between the request time and the server's time exceeds the maximum allowed", expected: .clockSkew),
        Case(status: 403, code: "RequestExpired", message: "Request has expired", expected: .clockSkew),
        Case(status: 400, code: "InvalidSignatureException", message: "Signature expired: 20261126T130000Z is now earlier than 20261126T131000Z", expected: .clockSkew),
        Case(status: 403, code: "AccessDenied", message: "Request has expired", expected: .clockSkew),
        // credentials
        Case(status: 403, code: "InvalidAccessKeyId", message: "The AWS Access Key Id you provided does not exist in our records.", expected: .invalidAccessKey),
        Case(status: 400, code: "InvalidArgument", message: "Credential access key has length 64, should be 32", expected: .invalidAccessKey),
        Case(status: 403, code: "SignatureDoesNotMatch", message: "The request signature we calculated does not match", expected: .signatureMismatch),
        Case(status: 400, code: "ExpiredToken", message: "The provided token has expired.", expected: .expiredToken),
        Case(status: 403, code: "InvalidToken", message: "", expected: .expiredToken),
        Case(status: 403, code: "AccountProblem", message: "", expected: .accountDisabled),
        // region and bucket
        Case(status: 301, code: "PermanentRedirect", message: "", expected: .wrongRegion),
        Case(status: 400, code: "AuthorizationHeaderMalformed", message: "the region 'us-east-1' is wrong; expecting 'eu-west-1'", expected: .wrongRegion),
        Case(status: 400, code: "InvalidRegionName", message: "", expected: .wrongRegion),
        Case(status: 404, code: "NoSuchBucket", message: "", expected: .noSuchBucket),
        Case(status: 400, code: "InvalidBucketName", message: "", expected: .invalidBucketName),
        // KMS, Object Lock, quota
        Case(
            status: 403, code: "AccessDenied",
            message: "User: arn:aws:iam::1:user/b is not authorized to perform: kms:GenerateDataKey on resource: arn:aws:kms:eu-west-1:1:key/x",
            expected: .kms(action: "kms:GenerateDataKey")),
        Case(status: 400, code: "KMS.DisabledException", message: "arn:aws:kms:... is disabled.", expected: .kms(action: nil)),
        Case(status: 403, code: "AccessDenied", message: "Access Denied because object protected by object lock.", expected: .objectLock),
        Case(status: 400, code: "InvalidRequest", message: "Object is WORM protected and cannot be overwritten", expected: .objectLock),
        // A bucket without Object Lock is not a locked object (AWS; MinIO's wording and code).
        Case(status: 400, code: "InvalidRequest", message: "Bucket is missing Object Lock Configuration", expected: .objectLockDisabled),
        Case(status: 400, code: "InvalidRequest", message: "Bucket is missing ObjectLockConfiguration", expected: .objectLockDisabled),
        Case(
            status: 404, code: "ObjectLockConfigurationNotFoundError", message: "Object Lock configuration does not exist for this bucket",
            expected: .objectLockDisabled),
        Case(
            status: 400, code: "InvalidRequest", message: "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters",
            expected: nil),
        Case(status: 403, code: "QuotaExceeded", message: "", expected: .quota),
        Case(status: 403, code: "AccessDenied", message: "Storage cap exceeded.", expected: .quota),
        Case(status: 507, code: "", message: "", expected: .quota),
        // permission: with the action the server names, or none
        Case(
            status: 403, code: "AccessDenied",
            message: "User: arn:aws:iam::1:user/b is not authorized to perform: s3:PutObject on resource: \"arn:aws:s3:::b/k\" because no identity-based policy allows the s3:PutObject action",
            expected: .permission(action: "s3:PutObject")),
        // The retention actions name "retention": still a missing permission, never a locked object.
        Case(
            status: 403, code: "AccessDenied",
            message: "User: arn:aws:iam::1:user/b is not authorized to perform: s3:PutObjectRetention on resource: \"arn:aws:s3:::b/k\" because no identity-based policy allows the s3:PutObjectRetention action",
            expected: .permission(action: "s3:PutObjectRetention")),
        Case(
            status: 403, code: "AccessDenied",
            message: "User: arn:aws:iam::1:user/b is not authorized to perform: s3:GetObjectRetention on resource: \"arn:aws:s3:::b/k\" because no identity-based policy allows the s3:GetObjectRetention action",
            expected: .permission(action: "s3:GetObjectRetention")),
        Case(
            status: 403, code: "AccessDenied",
            message: "User: arn:aws:iam::1:user/b is not authorized to perform: s3:BypassGovernanceRetention on resource: \"arn:aws:s3:::b/k\" because no identity-based policy allows the s3:BypassGovernanceRetention action",
            expected: .permission(action: "s3:BypassGovernanceRetention")),
        Case(
            status: 403, code: "AccessDenied",
            message: "User: arn:aws:iam::1:user/b is not authorized to perform: s3:PutObjectLegalHold on resource: \"arn:aws:s3:::b/k\" with an explicit deny in an identity-based policy",
            expected: .permission(action: "s3:PutObjectLegalHold")),
        Case(status: 403, code: "AccessDenied", message: "Access Denied", expected: .permission(action: nil)),
        Case(status: 403, code: "", message: "", expected: .permission(action: nil)),
        // not refusals
        Case(status: 503, code: "SlowDown", message: "Please reduce your request rate.", expected: nil),
        Case(status: 404, code: "NoSuchKey", message: "", expected: nil),
        Case(status: 500, code: "InternalError", message: "", expected: nil),
    ]

    @Test(arguments: table)
    func mapping(_ c: Case) {
        let error = S3ServiceError(status: c.status, code: c.code, message: c.message, requestID: "", details: [:], headers: [], operation: "PutObject")
        #expect(Refusal.of(error) == c.expected)
    }

    @Test func serverTimeFromServerTimeElseDateHeader() {
        let withBoth = S3ServiceError(
            status: 403, code: "RequestTimeTooSkewed", message: "", requestID: "", details: ["ServerTime": "2026-11-26T13:30:00Z"],
            headers: [("Date", "Thu, 26 Nov 2026 13:31:00 GMT")], operation: "PutObject")
        #expect(Refusal.serverTime(withBoth) == Timestamp.parseISO8601("2026-11-26T13:30:00Z"))
        let dateOnly = S3ServiceError(
            status: 403, code: "RequestTimeTooSkewed", message: "", requestID: "", details: [:], headers: [("date", "Thu, 26 Nov 2026 13:31:00 GMT")],
            operation: "PutObject")
        #expect(Refusal.serverTime(dateOnly) == Timestamp.parseISO8601("2026-11-26T13:31:00Z"))
        let none = S3ServiceError(status: 403, code: "RequestTimeTooSkewed", message: "", requestID: "", details: ["ServerTime": "soon"], headers: [], operation: "PutObject")
        #expect(Refusal.serverTime(none) == nil)
    }

    @Test func clockSkewWordsSayHowMuchAndWhichWay() {
        let server = Timestamp.parseISO8601("2026-11-26T13:30:00Z")!
        #expect(ClockSkewText.offset(local: server - 25 * 60, server: server).hasPrefix("25 min 0 s behind"))
        #expect(ClockSkewText.offset(local: server + 25 * 60 + 3, server: server).hasPrefix("25 min 3 s ahead of"))
        #expect(ClockSkewText.refused(local: server, server: nil, said: "(x)").contains("gave no time"))
    }
}

/// The offset arithmetic: server − local, per endpoint, signed with local + offset.
@Suite(.serialized) struct ClockOffsetTests {
    @Test func offsetIsKeptPerEndpointAndWarnedOnce() {
        ClockOffsets.reset()
        #expect(ClockOffsets.offset(for: "http://a:1") == 0)
        #expect(ClockOffsets.record(1500, for: "http://a:1") == true)
        #expect(ClockOffsets.record(1499, for: "http://a:1") == false)
        #expect(ClockOffsets.record(-1500, for: "http://b:2") == false)
        #expect(ClockOffsets.offset(for: "http://a:1") == 1499)
        #expect(ClockOffsets.offset(for: "http://b:2") == -1500)
        #expect(ClockOffsets.lastSeen == -1500)
        ClockOffsets.reset()
    }

    @Test func clientCorrectsFromTheAnswerAndSignsWithTheOffset() throws {
        ClockOffsets.reset()
        defer { ClockOffsets.reset() }
        let location = try #require(S3Location(endpoint: "http://127.0.0.1:9", bucket: "b", region: "us-east-1", pathStyle: true))
        let client = S3Client(
            http: HTTPClient(), location: location, credentials: SigningCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "s", sessionToken: nil))
        let local: Int64 = 1_795_000_000
        client.clock = { local }
        let server = local + 25 * 60
        let refused = S3Failure.service(
            S3ServiceError(
                status: 403, code: "RequestTimeTooSkewed", message: "", requestID: "", details: ["ServerTime": Timestamp.iso8601(server)], headers: [],
                operation: "PutObject"))
        #expect(client.correctClock(refused, signedWith: 0) == Int64(25 * 60))
        // Signed with local + offset from now on.
        let signed = client.signedRequest(S3Client.Operation(name: "HeadBucket", method: "HEAD")).request
        let date = signed.headers.first { $0.name.lowercased() == "x-amz-date" }?.value
        #expect(date == AmzDate.format(server))
        // Refused again at that offset: nothing more to correct (the caller gives up as CLOCK_SKEW).
        #expect(client.correctClock(refused, signedWith: 25 * 60) == nil)
        // A request signed before another one corrected the clock is signed again with the new offset.
        #expect(client.correctClock(refused, signedWith: 0) == Int64(25 * 60))
        // An answer without a usable time cannot correct anything.
        let timeless = S3Failure.service(S3ServiceError(status: 403, code: "RequestTimeTooSkewed", message: "", requestID: "", details: [:], headers: [], operation: "PutObject"))
        ClockOffsets.reset()
        #expect(client.correctClock(timeless, signedWith: 0) == nil)
    }
}
