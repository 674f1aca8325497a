import AgentSupport
import Diagnostics
import Testing

@Suite struct RegionDiagnosisTests {
    @Test func readsTheRegionFromEndpointHosts() {
        #expect(RegionDiagnosis.region(fromEndpoint: "acme.s3.eu-west-1.amazonaws.com") == "eu-west-1")
        #expect(RegionDiagnosis.region(fromEndpoint: "acme.s3-ap-northeast-1.amazonaws.com") == "ap-northeast-1")
        #expect(RegionDiagnosis.region(fromEndpoint: "https://s3.dualstack.eu-central-1.amazonaws.com/x") == "eu-central-1")
        #expect(RegionDiagnosis.region(fromEndpoint: "acme.s3.amazonaws.com") == "us-east-1")
        #expect(RegionDiagnosis.region(fromEndpoint: "acme.s3-external-1.amazonaws.com") == "us-east-1")
        #expect(RegionDiagnosis.region(fromEndpoint: "storage.example.com") == nil)
    }

    @Test func authorizationHeaderMalformedNamesTheExpectedRegion() throws {
        let e = Fixtures.error(
            400, "AuthorizationHeaderMalformed", "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-central-1'",
            details: ["Region": "eu-central-1"])
        let f = try #require(RegionDiagnosis.finding(e, context: Fixtures.context()))
        #expect(f.check == .region && f.status == .fail && f.code == .wrongRegion)
        #expect(f.fix.contains("`region = \"eu-central-1\"` in [vaults.primary] in /etc/offsite-agent/agent.toml"))
    }

    @Test func minioRegionWrongMessageWithoutRegionElement() {
        let e = Fixtures.error(400, "AuthorizationHeaderMalformed", "The authorization header is malformed; the region is wrong; expecting 'us-east-1'.")
        #expect(RegionDiagnosis.analyse(e, configured: "eu-west-2").expected == "us-east-1")
    }

    @Test func malformedCredentialIsNotAWrongRegion() {
        let e = Fixtures.error(
            400, "AuthorizationHeaderMalformed",
            "The authorization header is malformed; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
        let verdict = RegionDiagnosis.analyse(e, configured: "us-east-1")
        #expect(!verdict.wrongRegion)
        #expect(verdict.expected == nil)
    }

    @Test func permanentRedirectPrefersTheHeaderThenTheEndpoint() {
        let withEndpoint = Fixtures.error(301, "PermanentRedirect", "must be addressed using the specified endpoint", details: ["Endpoint": "acme.s3-eu-west-1.amazonaws.com"])
        #expect(RegionDiagnosis.analyse(withEndpoint, configured: "us-east-1").expected == "eu-west-1")
        var withHeader = withEndpoint
        withHeader.headers = [("x-amz-bucket-region", "eu-west-3")]
        #expect(RegionDiagnosis.analyse(withHeader, configured: "us-east-1").expected == "eu-west-3")
    }

    @Test func bodilessHeadRedirectUsesTheBucketRegionHeader() {
        let head = Fixtures.error(301, "", headers: [("x-amz-bucket-region", "ap-southeast-2")], operation: "HeadBucket")
        let r = RegionDiagnosis.analyse(head, configured: "us-east-1")
        #expect(r.wrongRegion && r.expected == "ap-southeast-2")
        // A bodiless 400 naming the configured region is not about the region.
        let same = Fixtures.error(400, "", headers: [("x-amz-bucket-region", "us-east-1")], operation: "HeadBucket")
        #expect(!RegionDiagnosis.analyse(same, configured: "us-east-1").wrongRegion)
    }

    @Test func optInRegionLocationConstraint() {
        let e = Fixtures.error(400, "IllegalLocationConstraintException", "The ap-east-1 location constraint is incompatible for the region specific endpoint this request was sent to.")
        #expect(RegionDiagnosis.analyse(e, configured: "us-east-1").expected == "ap-east-1")
    }

    @Test func r2InvalidRegionNameSuggestsAuto() throws {
        let e = Fixtures.error(400, "InvalidRegionName", "The region name 'cn-north-1' is not valid. Must be one of: wnam, enam, weur, eeur, apac, oc, auto")
        let f = try #require(RegionDiagnosis.finding(e, context: Fixtures.context(provider: "other", region: "cn-north-1", endpoint: "https://x.r2.cloudflarestorage.com")))
        #expect(f.fix.contains("`region = \"auto\"`"))
    }

    @Test func minioInvalidRegionWithoutANameSaysWhereToLook() throws {
        let e = Fixtures.error(400, "InvalidRegion", "Region does not match.")
        let f = try #require(RegionDiagnosis.finding(e, context: Fixtures.context(provider: "minio", endpoint: "http://minio:9000")))
        #expect(f.explanation.contains("without naming"))
        #expect(f.fix.contains("`region`"))
    }

    @Test func anExplicitEndpointCarryingTheOldRegionIsFixedToo() {
        let ctx = Fixtures.context(provider: "wasabi", region: "us-east-1", endpoint: "https://s3.us-east-1.wasabisys.com:8443")
        let e = Fixtures.error(301, "PermanentRedirect", details: ["Endpoint": "acme.s3.eu-central-1.amazonaws.com"])
        let f = RegionDiagnosis.finding(e, context: ctx)
        #expect(f?.fix.contains("`endpoint = \"https://s3.eu-central-1.wasabisys.com:8443\"`") == true)
    }

    @Test func sameRegionTreatsEmptyAsUsEast1AndSingleRegionProvidersAsFixed() {
        #expect(RegionDiagnosis.same("", "us-east-1", context: Fixtures.context()))
        #expect(!RegionDiagnosis.same("eu-west-1", "us-east-1", context: Fixtures.context()))
        #expect(RegionDiagnosis.same("us-east-1", "auto", context: Fixtures.context(provider: "r2")))
    }

    @Test func successfulAnswerInAnotherRegionIsAWarning() throws {
        let f = try #require(RegionDiagnosis.finding(successHeader: "eu-west-1", context: Fixtures.context()))
        #expect(f.status == .warn && f.code == .wrongRegion)
        #expect(RegionDiagnosis.finding(successHeader: "us-east-1", context: Fixtures.context()) == nil)
    }

    @Test func otherErrorsAreNotAboutTheRegion() {
        #expect(RegionDiagnosis.finding(Fixtures.error(403, "AccessDenied", "Access Denied"), context: Fixtures.context()) == nil)
        #expect(RegionDiagnosis.finding(Fixtures.error(404, "NoSuchBucket"), context: Fixtures.context()) == nil)
    }
}
