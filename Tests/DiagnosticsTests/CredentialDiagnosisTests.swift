import AgentSupport
import Diagnostics
import Testing

@Suite struct CredentialDiagnosisTests {
    let sts = "AWS4-HMAC-SHA256\n20261121T030000Z\n20261121/us-east-1/s3/aws4_request\n" + String(repeating: "a", count: 64)

    @Test func sameStringToSignMeansTheSecretIsWrong() throws {
        let e = Fixtures.error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match", details: ["StringToSign": sts])
        let f = try #require(CredentialDiagnosis.finding(e, ourStringToSign: sts, context: Fixtures.context()))
        #expect(f.check == .credentials && f.code == .signatureMismatch)
        #expect(f.explanation.contains("exactly the same request"))
        #expect(f.fix.contains("`secret_access_key`"))
    }

    @Test func stringToSignSentWithSpacesStillCompares() throws {
        let spaced = sts.split(separator: "\n").joined(separator: " ")
        let e = Fixtures.error(403, "SignatureDoesNotMatch", details: ["StringToSign": spaced])
        let f = try #require(CredentialDiagnosis.finding(e, ourStringToSign: sts, context: Fixtures.context()))
        #expect(f.explanation.contains("exactly the same request"))
    }

    @Test func differentCanonicalRequestHashMeansTheRequestWasAltered() throws {
        let theirs = "AWS4-HMAC-SHA256\n20261121T030000Z\n20261121/us-east-1/s3/aws4_request\n" + String(repeating: "b", count: 64)
        let e = Fixtures.error(403, "SignatureDoesNotMatch", details: ["StringToSign": theirs])
        let f = try #require(CredentialDiagnosis.finding(e, ourStringToSign: sts, context: Fixtures.context()))
        #expect(f.explanation.contains("hash of the canonical request") && f.explanation.contains("altered"))
        #expect(f.fix.contains("HTTPS_PROXY"))
    }

    @Test func whitespaceInTheSecretIsNamedNotShown() throws {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
        let e = Fixtures.error(403, "SignatureDoesNotMatch")
        let f = try #require(CredentialDiagnosis.finding(e, ourStringToSign: sts, context: Fixtures.context(secret: secret)))
        #expect(f.explanation.contains("a trailing newline"))
        #expect(!f.explanation.contains("wJalr") && !f.fix.contains("wJalr"))
    }

    @Test func whitespaceDescriptions() {
        #expect(DiagnosisContext.whitespace(in: "abc") == nil)
        #expect(DiagnosisContext.whitespace(in: " abc") == "leading whitespace")
        #expect(DiagnosisContext.whitespace(in: "abc ") == "trailing whitespace")
        #expect(DiagnosisContext.whitespace(in: "a bc\n") == "a trailing newline and whitespace inside it")
    }

    @Test func sixtyFourCharacterKeyIdIsASecretPastedAsTheId() throws {
        let id = String(repeating: "0123456789abcdef", count: 4)
        let e = Fixtures.error(400, "InvalidArgument", "Invalid Argument: Credential access key has length 64, should be 32")
        let f = try #require(CredentialDiagnosis.finding(e, ourStringToSign: "", context: Fixtures.context(provider: "r2", accessKeyID: id, secret: String(repeating: "k", count: 32))))
        #expect(f.code == .invalidAccessKey)
        #expect(f.explanation.contains("pasted as the Access Key ID"))
        #expect(f.fix.contains("`access_key_id`") && f.fix.contains("32-character"))
        #expect(!f.explanation.contains(id))
    }

    @Test func b2UnknownKeyNamesBothCausesAndHidesTheId() throws {
        let id = "0051a2b3c4d5e6f0000000001"
        let e = Fixtures.error(403, "InvalidAccessKeyId", "The key '\(id)' is not valid")
        let f = try #require(CredentialDiagnosis.finding(e, ourStringToSign: "", context: Fixtures.context(provider: "b2", region: "us-west-002", accessKeyID: id)))
        #expect(f.explanation.contains("another region"))
        #expect(f.fix.contains("`access_key_id`") && f.fix.contains("`region`"))
        #expect(!f.explanation.contains(id))
    }

    @Test func awsUnknownKeyDoesNotBlameTheRegion() throws {
        let e = Fixtures.error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
        let f = try #require(CredentialDiagnosis.finding(e, ourStringToSign: "", context: Fixtures.context()))
        #expect(!f.explanation.contains("another region"))
        #expect(f.fix.contains("`access_key_id`"))
    }

    @Test func malformedB2KeyIdSaysWhichKeyToCreate() throws {
        let e = Fixtures.error(403, "InvalidAccessKeyId", "Malformed Access Key Id")
        let f = try #require(CredentialDiagnosis.finding(e, ourStringToSign: "", context: Fixtures.context(provider: "b2", region: "us-west-004")))
        #expect(f.fix.contains("not the master key"))
    }

    @Test func expiredAndInvalidTokens() throws {
        let expired = try #require(CredentialDiagnosis.finding(Fixtures.error(400, "ExpiredToken", "The provided token has expired."), ourStringToSign: "", context: Fixtures.context(sessionToken: true)))
        #expect(expired.code == .expiredToken && expired.fix.contains("session_token"))
        let invalid = try #require(CredentialDiagnosis.finding(Fixtures.error(400, "InvalidToken"), ourStringToSign: "", context: Fixtures.context(sessionToken: true)))
        #expect(invalid.code == .expiredToken)
    }

    @Test func denialsAreNotCredentialFailures() {
        #expect(CredentialDiagnosis.finding(Fixtures.error(403, "AccessDenied", "Access Denied"), ourStringToSign: "", context: Fixtures.context()) == nil)
    }
}
