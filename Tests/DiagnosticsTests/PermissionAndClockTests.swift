import AgentSupport
import Diagnostics
import Testing

@Suite struct PermissionDiagnosisTests {
    @Test func readsTheDeniedActionFromAwsMessages() {
        let m = "User: arn:aws:iam::123456789012:user/backup is not authorized to perform: s3:PutObject on resource: \"arn:aws:s3:::acme/x\" because no identity-based policy allows the s3:PutObject action"
        #expect(PermissionDiagnosis.namedAction(in: m) == "s3:PutObject")
        #expect(PermissionDiagnosis.namedAction(in: "Access Denied") == nil)
    }

    @Test func namesTheActionInAwsTermsAndTheProvidersWords() {
        let f = PermissionDiagnosis.finding(
            Fixtures.error(403, "AccessDenied", "Access Denied", operation: "PutObject"), check: .write, action: "s3:PutObject", what: "writing", context: Fixtures.context())
        #expect(f.check == .write && f.status == .fail && f.code == .permissionDenied)
        #expect(f.explanation.contains("s3:PutObject"))
        #expect(f.fix.contains("arn:aws:s3:::acme-backups/web-01/*"))
        let r2 = PermissionDiagnosis.finding(
            Fixtures.error(403, "AccessDenied", operation: "PutObject"), check: .write, action: "s3:PutObject", what: "writing",
            context: Fixtures.context(provider: "r2", region: "auto"))
        #expect(r2.fix.contains("\"Object Read & Write\""))
        let b2 = PermissionDiagnosis.finding(
            Fixtures.error(403, "AccessDenied", operation: "DeleteObject"), check: .delete, action: "s3:DeleteObject", what: "deleting",
            context: Fixtures.context(provider: "b2", region: "us-west-004"))
        #expect(b2.status == .warn && b2.fix.contains("deleteFiles"))
    }

    @Test func explicitDenyPointsAtThePolicyAndEncryption() {
        let m = "User: arn:aws:iam::1:user/b is not authorized to perform: s3:PutObject on resource: \"arn:aws:s3:::acme/k\" with an explicit deny in a resource-based policy"
        let f = PermissionDiagnosis.finding(Fixtures.error(403, "AccessDenied", m), check: .write, action: "s3:PutObject", what: "writing", context: Fixtures.context())
        #expect(f.explanation.contains("bucket policy explicitly denies"))
        #expect(f.fix.contains("server_side_encryption"))
    }

    @Test func kmsDenialNamesTheKeyPermission() {
        let m = "User: arn:aws:iam::1:user/b is not authorized to perform: kms:GenerateDataKey on resource: arn:aws:kms:eu-west-1:1:key/abc"
        let f = PermissionDiagnosis.finding(Fixtures.error(403, "AccessDenied", m), check: .write, action: "s3:PutObject", what: "writing", context: Fixtures.context())
        #expect(f.explanation.contains("kms:GenerateDataKey") && f.fix.contains("KMS key"))
    }

    @Test func quotaAnswersAreQuotaExceeded() {
        let f = PermissionDiagnosis.finding(Fixtures.error(403, "AccessDenied", "Cannot upload files, storage cap exceeded."), check: .write, action: "s3:PutObject", what: "writing", context: Fixtures.context())
        #expect(f.code == .quotaExceeded && f.fix.contains("agent prune"))
        #expect(PermissionDiagnosis.isQuota(Fixtures.error(400, "XMinioAdminBucketQuotaExceeded")))
    }

    @Test func objectLockDemandIsRecognised() {
        #expect(PermissionDiagnosis.isObjectLockDemand(Fixtures.error(400, "InvalidRequest", "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters")))
        #expect(!PermissionDiagnosis.isObjectLockDemand(Fixtures.error(400, "InvalidRequest", "Something else")))
    }
}

@Suite struct ClockSkewTests {
    let server: Int64 = 1_795_000_000

    @Test func withinAMinuteIsFine() {
        #expect(ClockSkew.finding(local: server + 59, server: server) == nil)
    }

    @Test func overAMinuteWarnsAndSaysWhichWay() throws {
        let f = try #require(ClockSkew.finding(local: server - 185, server: server))
        #expect(f.status == .warn && f.code == .clockSkew)
        #expect(f.explanation.contains("3 min 5 s behind"))
        #expect(f.fix.contains("timedatectl set-ntp true"))
    }

    @Test func overFifteenMinutesFails() throws {
        let f = try #require(ClockSkew.finding(local: server + 20 * 60, server: server))
        #expect(f.status == .fail && f.explanation.contains("20 min 0 s ahead of"))
    }

    @Test func aRefusalFailsEvenWhenTheDateLooksClose() throws {
        let f = try #require(ClockSkew.finding(local: server + 5, server: server, refused: true))
        #expect(f.status == .fail && f.explanation.contains("RequestTimeTooSkewed"))
    }

    @Test func parsesBothServerTimeFormats() {
        #expect(ClockSkew.serverTime(dateHeader: "Wed, 27 Apr 2016 15:51:39 GMT") == Timestamp.parseISO8601("2016-04-27T15:51:39Z"))
        #expect(ClockSkew.serverTime(dateHeader: "garbage") == nil)
    }
}
