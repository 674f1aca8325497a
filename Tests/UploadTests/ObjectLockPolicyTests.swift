import AgentSupport
import Config
import Providers
import S3
import Testing

@testable import Upload

/// What counts as "locked as asked" after an upload (issue 15).
struct ObjectLockPolicyTests {
    static func policy(_ mode: ObjectLockMode, days: Int = 30) -> ObjectLockPolicy {
        ObjectLockPolicy(
            settings: ObjectLockSettings(mode: mode, days: days), vault: "primary", bucket: "acme",
            support: ObjectLockSupport(supported: true, hint: "enable it on BUCKET"),
            terms: ProviderTerms(accessKey: "a", secretKey: "s", keyConsole: "k", bucketConsole: "b", permissions: [:]))
    }

    @Test func headersAskForTheModeUntilUploadTimePlusDays() {
        let (headers, until) = Self.policy(.compliance, days: 2).headers(now: 1_796_119_200)
        #expect(until == 1_796_119_200 + 2 * 86_400)
        #expect(headers.map(\.value) == ["COMPLIANCE", "2026-12-03T10:00:00Z"])
    }

    @Test func storedRetentionMustBeTheModeUntilAtLeastTheDate() {
        let governance = Self.policy(.governance)
        let until: Int64 = 1_796_119_200
        #expect(governance.satisfies(ObjectRetention(mode: "GOVERNANCE", retainUntilText: "2026-12-01T10:00:00Z"), until))
        // Servers may drop a fraction of a second.
        #expect(governance.satisfies(ObjectRetention(mode: "GOVERNANCE", retainUntilText: "2026-12-01T09:59:59Z"), until))
        #expect(!governance.satisfies(ObjectRetention(mode: "GOVERNANCE", retainUntilText: "2026-12-01T09:59:58Z"), until))
        #expect(governance.satisfies(ObjectRetention(mode: "COMPLIANCE", retainUntilText: "2027-01-01T00:00:00Z"), until))
        #expect(!Self.policy(.compliance).satisfies(ObjectRetention(mode: "GOVERNANCE", retainUntilText: "2030-01-01T00:00:00Z"), until))
        #expect(!governance.satisfies(ObjectRetention(mode: "GOVERNANCE", retainUntilText: "soon"), until))
    }

    @Test func aLockedVaultAlwaysSendsContentMD5() {
        var integrity = IntegritySupport(
            signedPayload: true, unsignedPayload: true, contentMD5: true, checksumAlgorithms: [], awsChunked: false, preferred: .signedPayload, etagIsMD5: true)
        integrity.preferred = .signedPayload
        var target = UploadTarget(
            vault: "v", location: S3Location(endpoint: "https://s3.example", bucket: "b", region: "r", pathStyle: true)!,
            credentials: .init(accessKeyID: "a", secretAccessKey: "s"), prefix: "", limits: MultipartLimits(
                minPartSize: 5 << 20, maxPartSize: 5 << 30, maxParts: 10000, equalParts: false, maxSinglePut: 5 << 30, maxObjectSize: 5 << 40,
                multipartThreshold: 64 << 20),
            integrity: integrity, partSize: nil, multipartThreshold: 64 << 20, concurrency: 1, bandwidthLimit: 0, transfer: .init(), maxAttempts: 1,
            storageClass: nil, serverSideEncryption: nil, host: "h")
        #expect(!target.needsMD5)
        target.objectLock = Self.policy(.governance)
        #expect(target.needsMD5)
    }

    /// Review finding 5: reading the lock settings or a retention refused for the request's time is
    /// CLOCK_SKEW (issue 20), a named missing permission is PERMISSION_DENIED with the grant.
    @Test func aRefusedLockReadIsNamedByTheSharedMapping() {
        func failure(_ code: String, _ message: String) -> S3Error {
            S3Error(
                failure: .service(S3ServiceError(status: 403, code: code, message: message, requestID: "", details: [:], headers: [], operation: "GetObjectRetention")),
                attempts: [])
        }
        let policy = Self.policy(.governance)
        let denied: (String) -> AgentError = { AgentError(.permissionDenied, "denied (\($0))", hint: "grant s3:GetObjectRetention") }
        for time in [
            failure("RequestTimeTooSkewed", "The difference between the request time and the current time is too large."),
            failure("AccessDenied", "The difference between the request time and the server's time exceeds the maximum allowed"),
        ] {
            let mapped = policy.refusal(time, action: "s3:GetObjectRetention", denied: denied)
            #expect(mapped?.code == .clockSkew)
            #expect(mapped?.hint.contains("timedatectl") == true)
            #expect(!ObjectLockPolicy.isMissingPermission(time))
        }
        let missing = failure(
            "AccessDenied", "User: arn:aws:iam::1:user/b is not authorized to perform: s3:GetObjectRetention on resource: \"arn:aws:s3:::b/k\"")
        #expect(policy.refusal(missing, action: "s3:GetObjectRetention", denied: denied)?.code == .permissionDenied)
        #expect(policy.refusal(missing, action: "s3:GetObjectRetention", denied: denied)?.message == "denied (AccessDenied)")
        #expect(ObjectLockPolicy.isMissingPermission(missing))
        #expect(policy.refusal(failure("InvalidAccessKeyId", ""), action: "s3:GetObjectRetention", denied: denied)?.code == .invalidAccessKey)
        let slow = S3Error(
            failure: .service(S3ServiceError(status: 503, code: "SlowDown", message: "", requestID: "", details: [:], headers: [], operation: "GetObjectRetention")),
            attempts: [])
        #expect(policy.refusal(slow, action: "s3:GetObjectRetention", denied: denied) == nil)
    }
}
