import Foundation
import Testing

@testable import SigV4

/// The published SigV4 vectors in `Fixtures/sigv4`, checked byte for byte (see its README.md).
@Suite struct SigV4FixtureTests {
    typealias Variant = FixtureIndex.Variant

    @Test func fixtureSetMatchesTheIndex() throws {
        let onDisk = try FixtureCase.namesOnDisk()
        #expect(onDisk.count == FixtureIndex.count)
        #expect(onDisk == FixtureIndex.allCases)
        #expect(FixtureIndex.allCases.count == FixtureIndex.count)
        for name in FixtureIndex.allCases {
            let fixture = try FixtureCase(name)
            let variants = FixtureIndex.variantsByCase[name, default: []]
            #expect(fixture.context.variants.sorted() == variants.sorted(), "\(name)")
            #expect(fixture.context.s3PathRulesCompatible == !FixtureIndex.normalizedCases.contains(name), "\(name)")
            #expect(!fixture.context.doubleUriEncode, "\(name)")
            for variant in variants {
                for file in ["canonical-request", "string-to-sign", "signature", "signed-request"] {
                    #expect(try !fixture.text("\(variant)-\(file).txt").isEmpty, "\(name)/\(variant)-\(file).txt")
                }
            }
        }
    }

    @Test(arguments: FixtureIndex.s3HeaderVariants)
    func headerSigningMatchesTheVector(_ variant: Variant) throws {
        let fixture = try FixtureCase(variant.caseName)
        let signed = try fixture.signHeaders()
        try Self.expectStages(
            of: fixture, variant, signed.canonicalRequest, signed.stringToSign, signed.signature)

        // The signed request: our added headers (plus a token the caller adds after signing)
        // against the fixture's X-Amz-* and Authorization headers.
        let ours = Self.addingTokenAfterSigning(
            fixture.request.headers.filter { Self.isSigningHeader($0.name) } + signed.headers, fixture)
        let expected = try fixture.signedRequest("header").headers.filter { Self.isSigningHeader($0.name) }
        #expect(Self.comparable(ours) == Self.comparable(expected))
    }

    @Test(arguments: FixtureIndex.s3QueryVariants)
    func querySigningMatchesTheVector(_ variant: Variant) throws {
        let fixture = try FixtureCase(variant.caseName)
        let presigned = try fixture.presign()
        try Self.expectStages(
            of: fixture, variant, presigned.canonicalRequest, presigned.stringToSign, presigned.signature)
        #expect(presigned.queryItems.last?.name == "X-Amz-Signature")

        let ours = Self.addingTokenAfterSigning(presigned.queryItems, fixture)
        let expected = try fixture.signedRequest("query").query
            .filter { $0.name.hasPrefix("X-Amz-") }
            .map { (name: $0.name, value: $0.value ?? "") }
        #expect(Self.comparable(ours) == Self.comparable(expected))

        // The encoded form decodes back to the same items.
        let reparsed = HTTPRequestText.query(of: presigned.encodedQuery).map { (name: $0.name, value: $0.value ?? "") }
        #expect(Self.comparable(reparsed) == Self.comparable(presigned.queryItems))
    }

    /// aws-c-auth's "canonical-only" check: the stored canonical request straight into stages 2 to 5.
    @Test(arguments: FixtureIndex.allVariants)
    func canonicalRequestFileSignsToTheVector(_ variant: Variant) throws {
        let fixture = try FixtureCase(variant.caseName)
        let amzDate = AmzDate.format(try fixture.date())
        let stringToSign = fixture.signer.stringToSign(
            canonicalRequest: try fixture.text("\(variant.kind)-canonical-request.txt"), amzDate: amzDate)
        #expect(stringToSign == (try fixture.text("\(variant.kind)-string-to-sign.txt")))
        #expect(
            fixture.signer.signature(stringToSign: stringToSign, amzDate: amzDate)
                == (try fixture.text("\(variant.kind)-signature.txt")))
    }

    /// Cases marked `s3_path_rules_compatible: false` expect the path normalized, which S3 never
    /// does (`//a/../b` names another object than `/b`). Pin why each is skipped (our canonical
    /// request differs from theirs in the URI line and nowhere else), then report the skip.
    @Test func normalizedCasesAreSkippedByS3PathRules() throws {
        #expect(FixtureIndex.normalizedCases.count == 5)
        #expect(FixtureIndex.normalizedVariants.count == 10)
        var skipped: [String] = []
        for variant in FixtureIndex.normalizedVariants {
            let fixture = try FixtureCase(variant.caseName)
            #expect(!fixture.context.s3PathRulesCompatible && fixture.context.normalize, "\(variant)")
            let ours =
                variant.kind == "header"
                ? try fixture.signHeaders().canonicalRequest : try fixture.presign().canonicalRequest
            let expected = try fixture.text("\(variant.kind)-canonical-request.txt")
            #expect(ours != expected, "S3 rules must not normalize \(fixture.request.path)")

            var ourLines = ours.split(separator: "\n", omittingEmptySubsequences: false)
            let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
            try #require(ourLines.count == expectedLines.count && ourLines.count > 1, "\(variant)")
            #expect(ourLines[1] == SigV4Signer.uriEncode(fixture.request.path, encodeSlash: false), "\(variant)")
            skipped.append("\(variant): \(ourLines[1]) (theirs \(expectedLines[1]))")
            ourLines[1] = expectedLines[1]
            #expect(ourLines == expectedLines, "\(variant): only the URI line may differ")
        }
        try Test.cancel(
            "skipped by rule (they expect the path normalized; S3 signs it as given): \(skipped.joined(separator: "; "))"
        )
    }

    // MARK: Helpers

    /// Canonical request, string to sign and signature equal the variant's files byte for byte.
    private static func expectStages(
        of fixture: FixtureCase, _ variant: Variant, _ canonicalRequest: String, _ stringToSign: String,
        _ signature: String
    ) throws {
        #expect(fixture.context.s3PathRulesCompatible)
        #expect(canonicalRequest == (try fixture.text("\(variant.kind)-canonical-request.txt")))
        #expect(stringToSign == (try fixture.text("\(variant.kind)-string-to-sign.txt")))
        #expect(signature == (try fixture.text("\(variant.kind)-signature.txt")))
    }

    /// With `omit_session_token` the signer leaves the token out; the caller adds it after signing,
    /// as the fixtures' signed requests show.
    private static func addingTokenAfterSigning(
        _ items: [(name: String, value: String)], _ fixture: FixtureCase
    ) -> [(name: String, value: String)] {
        guard fixture.context.omitSessionToken, let token = fixture.context.credentials.token else { return items }
        #expect(
            !items.contains { $0.name.lowercased() == "x-amz-security-token" },
            "an omitted token is not added by the signer")
        return items + [("X-Amz-Security-Token", token)]
    }

    private static func isSigningHeader(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasPrefix("x-amz-") || lower == "authorization"
    }

    /// Order-free form: lowercase names; in Authorization the space after each comma dropped
    /// (aws-c-auth writes ", ", the S3 docs ",").
    private static func comparable(_ items: [(name: String, value: String)]) -> [String] {
        items.map { item in
            let name = item.name.lowercased()
            let value = name == "authorization" ? item.value.replacingOccurrences(of: ", ", with: ",") : item.value
            return "\(name): \(value)"
        }.sorted()
    }
}
