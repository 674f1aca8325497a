import Hashing
import Testing

@testable import SigV4

/// Behaviour the vectors do not pin: S3 encoding rules, header edge cases, key caching.
@Suite struct SigV4SignerTests {
    static let credentials = SigningCredentials(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    /// 2013-05-24T00:00:00Z, the S3 documentation's signing time.
    static let date: Int64 = 1_369_353_600
    static let host = [(name: "Host", value: "examplebucket.s3.amazonaws.com")]

    @Test func uriEncodeKeepsOnlyUnreservedBytes() {
        var ascii = ""
        for scalar in (0x20...0x7e).compactMap(Unicode.Scalar.init) { ascii.unicodeScalars.append(scalar) }
        let encoded = SigV4Signer.uriEncode(ascii, encodeSlash: true)
        #expect(
            encoded
                == "%20%21%22%23%24%25%26%27%28%29%2A%2B%2C-.%2F0123456789%3A%3B%3C%3D%3E%3F%40"
                + "ABCDEFGHIJKLMNOPQRSTUVWXYZ%5B%5C%5D%5E_%60abcdefghijklmnopqrstuvwxyz%7B%7C%7D~")
        #expect(SigV4Signer.uriEncode("\u{0}\t\n\u{7f}", encodeSlash: true) == "%00%09%0A%7F")
    }

    @Test func uriEncodeEncodesUTF8BytesAndSlashOnRequest() {
        #expect(SigV4Signer.uriEncode("/ሴ/naïve", encodeSlash: false) == "/%E1%88%B4/na%C3%AFve")
        #expect(SigV4Signer.uriEncode("a/b", encodeSlash: true) == "a%2Fb")
        #expect(SigV4Signer.uriEncode("a b+c", encodeSlash: false) == "a%20b%2Bc")
    }

    /// Input is raw: an already-encoded-looking key is a different key and is encoded once more.
    @Test func uriEncodeNeverDecodes() {
        #expect(SigV4Signer.uriEncode("/100%20done", encodeSlash: false) == "/100%2520done")
    }

    @Test func canonicalURIKeepsDotAndEmptySegments() {
        #expect(SigV4Signer.canonicalURI("//backups/./2024/../x//") == "//backups/./2024/../x//")
        #expect(SigV4Signer.canonicalURI("") == "/")
    }

    @Test func canonicalQuerySortsEncodedNamesThenValuesInByteOrder() {
        let query: [(name: String, value: String?)] = [
            ("prefix", "a/b"), ("b", "2"), ("B", nil), ("a", "z"), ("a", "Z"), ("a-", ""), ("uploads", nil),
        ]
        #expect(SigV4Signer.canonicalQuery(query) == "B=&a=Z&a=z&a-=&b=2&prefix=a%2Fb&uploads=")
        #expect(SigV4Signer.canonicalQuery([]) == "")
    }

    @Test func canonicalHeadersLowercaseTrimCollapseAndJoinInRequestOrder() {
        let headers: [(name: String, value: String)] = [
            ("X-Meta", "  b\t\t c  "), ("Host", "h"), ("x-meta", "a"), ("X-Folded", "one\r\n  two"),
            ("X-Empty", "   "),
        ]
        let canonical = SigV4Signer.canonicalHeaders(headers)
        #expect(canonical.text == "host:h\nx-empty:\nx-folded:one two\nx-meta:b c,a\n")
        #expect(canonical.signedHeaders == "host;x-empty;x-folded;x-meta")
    }

    @Test func hopByHopAndRewrittenHeadersAreNotSigned() {
        let headers =
            Self.host + [
                ("User-Agent", "agent/1.0"), ("Authorization", "old"), ("Expect", "100-continue"),
                ("Content-Length", "5"),
            ]
        #expect(SigV4Signer.canonicalHeaders(headers).signedHeaders == "content-length;host")
    }

    @Test func signAddsDateHashTokenAndAuthorizationInOrder() {
        let signer = SigV4Signer(
            credentials: SigningCredentials(accessKeyID: "AKID", secretAccessKey: "secret", sessionToken: "tok"),
            region: "eu-central-1")
        let signed = signer.sign(
            method: "PUT", path: "/bucket/key", query: [], headers: Self.host, payloadHash: PayloadHash.unsigned,
            date: Self.date)
        #expect(
            signed.headers.map(\.name) == [
                "X-Amz-Date", "x-amz-content-sha256", "X-Amz-Security-Token", "Authorization",
            ])
        #expect(signed.value(of: "x-amz-date") == "20130524T000000Z")
        #expect(signed.value(of: "X-Amz-Content-SHA256") == "UNSIGNED-PAYLOAD")
        #expect(
            signed.value(of: "authorization")
                == "AWS4-HMAC-SHA256 Credential=AKID/20130524/eu-central-1/s3/aws4_request, "
                + "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=\(signed.signature)"
        )
        #expect(signed.canonicalRequest.hasSuffix("\nUNSIGNED-PAYLOAD"))
        #expect(
            signed.stringToSign.hasPrefix("AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/eu-central-1/s3/aws4_request\n")
        )
    }

    @Test func omittedSessionTokenIsNeitherSignedNorAdded() {
        let signer = SigV4Signer(
            credentials: SigningCredentials(accessKeyID: "AKID", secretAccessKey: "secret", sessionToken: "tok"),
            region: "us-east-1")
        let signed = signer.sign(
            method: "GET", path: "/", query: [], headers: Self.host, payloadHash: PayloadHash.empty, date: Self.date,
            omitSessionToken: true)
        #expect(signed.value(of: "X-Amz-Security-Token") == nil)
        #expect(!signed.canonicalRequest.contains("x-amz-security-token"))
        let presigned = signer.presign(
            method: "GET", path: "/", query: [], headers: Self.host, expires: 60, date: Self.date,
            omitSessionToken: true)
        #expect(!presigned.queryItems.contains { $0.name == "X-Amz-Security-Token" })
    }

    /// The caller's own copies of the headers the signer adds would be signed twice.
    @Test func signerHeadersReplaceTheCallersCopies() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
        let headers = Self.host + [("X-Amz-Date", "19990101T000000Z"), ("X-AMZ-CONTENT-SHA256", "stale")]
        let signed = signer.sign(
            method: "GET", path: "/test.txt", query: [], headers: headers, payloadHash: PayloadHash.empty,
            date: Self.date)
        let clean = signer.sign(
            method: "GET", path: "/test.txt", query: [], headers: Self.host, payloadHash: PayloadHash.empty,
            date: Self.date)
        #expect(signed.canonicalRequest == clean.canonicalRequest)
        #expect(!signed.canonicalRequest.contains("19990101"))
    }

    /// Without the content-hash header the caller may sign its own, e.g. for a precomputed part hash.
    @Test func callerContentHashIsSignedWhenTheSignerAddsNone() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
        let signed = signer.sign(
            method: "PUT", path: "/k", query: [], headers: Self.host + [("x-amz-content-sha256", PayloadHash.empty)],
            payloadHash: PayloadHash.empty, date: Self.date, addContentSHA256Header: false)
        #expect(signed.value(of: "x-amz-content-sha256") == nil)
        #expect(signed.canonicalRequest.contains("\nx-amz-content-sha256:\(PayloadHash.empty)\n"))
    }

    @Test func presignedQueryEncodesValuesAndEndsWithTheSignature() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
        let presigned = signer.presign(
            method: "GET", path: "/test.txt", query: [], headers: Self.host, expires: 86_400, date: Self.date)
        // The S3 documentation's presigned-URL example.
        #expect(presigned.signature == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
        #expect(
            presigned.encodedQuery
                == "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
                + "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
                + presigned.signature)
    }

    /// The IAM guide's key-derivation example (secret with "+", 20120215, us-east-1, iam).
    @Test func signingKeyMatchesTheDocumentedDerivation() {
        let signer = SigV4Signer(
            credentials: SigningCredentials(
                accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "iam")
        #expect(
            signer.signingKey(dateStamp: "20120215").hexString
                == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
    }

    @Test func signingKeyIsDerivedOncePerDayAndSharedByCopies() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
        let copy = signer
        var signatures = Set<String>()
        for part in 0..<500 {
            let sameDay = Self.date + Int64(part) * 60
            signatures.insert(
                copy.sign(
                    method: "PUT", path: "/k", query: [("partNumber", String(part))], headers: Self.host,
                    payloadHash: PayloadHash.unsigned, date: sameDay
                ).signature)
        }
        #expect(signatures.count == 500)
        #expect(signer.signingKeyDerivations == 1)

        let nextDay = Self.date + 86_400
        let fresh = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
        let signed = signer.sign(
            method: "GET", path: "/", query: [], headers: Self.host, payloadHash: PayloadHash.empty, date: nextDay)
        #expect(signer.signingKeyDerivations == 2)
        #expect(
            signed.signature
                == fresh.sign(
                    method: "GET", path: "/", query: [], headers: Self.host, payloadHash: PayloadHash.empty,
                    date: nextDay
                ).signature)
    }

    @Test func concurrentSigningAgreesWithSerialSigning() async {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
        let days = (0..<8).map { Self.date + Int64($0) * 86_400 }
        let expected = days.map { day in
            SigV4Signer(credentials: Self.credentials, region: "us-east-1").sign(
                method: "GET", path: "/", query: [], headers: Self.host, payloadHash: PayloadHash.empty, date: day
            ).signature
        }
        let results = await withTaskGroup(of: (Int, String).self) { group in
            for round in 0..<200 {
                let index = round % days.count
                group.addTask {
                    let signed = signer.sign(
                        method: "GET", path: "/", query: [], headers: Self.host, payloadHash: PayloadHash.empty,
                        date: days[index])
                    return (index, signed.signature)
                }
            }
            return await group.reduce(into: [(Int, String)]()) { $0.append($1) }
        }
        #expect(results.count == 200)
        for (index, signature) in results {
            #expect(signature == expected[index])
        }
    }

    /// Odd input gives a (wrong but harmless) signature, never a trap.
    @Test func oddInputDoesNotTrap() {
        let signer = SigV4Signer(credentials: SigningCredentials(accessKeyID: "", secretAccessKey: ""), region: "")
        let signed = signer.sign(
            method: "", path: "", query: [("", nil)], headers: [("", ""), (":", "\u{0}")], payloadHash: "",
            date: Int64.min)
        #expect(signed.signature.utf8.count == 64)
        let presigned = signer.presign(method: "", path: "", query: [], headers: [], expires: -1, date: Int64.max)
        #expect(presigned.signature.utf8.count == 64)
    }

    @Test func credentialsDescriptionRedactsSecrets() {
        let text = String(
            describing: SigningCredentials(accessKeyID: "AKID", secretAccessKey: "s3cr3t", sessionToken: "t0ken"))
        #expect(text.contains("AKID"))
        #expect(!text.contains("s3cr3t"))
        #expect(!text.contains("t0ken"))
    }
}
