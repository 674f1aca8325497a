import Testing

/// The fixture set as the README lists it. Written out here (not read from disk) so that a
/// missing or extra case folder fails `fixtureSetMatchesTheIndex` instead of shrinking the run.
enum FixtureIndex {
    /// One signing variant of one case.
    struct Variant: Sendable, CustomStringConvertible, CustomTestStringConvertible {
        var caseName: String
        /// `header` or `query`.
        var kind: String
        var description: String { "\(caseName) (\(kind))" }
        var testDescription: String { description }
    }

    static let count = 29

    /// Cases whose expectations normalize the path, which S3 rules never do.
    static let normalizedCases: Set<String> = [
        "get-relative-normalized", "get-relative-relative-normalized", "get-slash-dot-slash-normalized",
        "get-slash-normalized", "get-slash-pointless-dot-normalized",
    ]

    static let awsCAuthCases = [
        "get-header-value-order", "get-header-value-trim", "get-relative-normalized",
        "get-relative-relative-normalized", "get-relative-unnormalized", "get-slash-dot-slash-normalized",
        "get-slash-dot-slash-unnormalized", "get-slash-normalized", "get-slash-pointless-dot-normalized",
        "get-slash-unnormalized", "get-slashes-unnormalized", "get-space-normalized", "get-unreserved",
        "get-vanilla", "get-vanilla-empty-query-key", "get-vanilla-query", "get-vanilla-query-order-key-case",
        "get-vanilla-utf8-query", "get-vanilla-with-session-token", "post-header-key-case",
        "post-header-value-case", "post-sts-header-after", "post-vanilla", "post-vanilla-empty-query-value",
        "post-vanilla-query", "post-x-www-form-urlencoded",
    ]

    /// Case name to its variants.
    static let variantsByCase: [String: [String]] =
        Dictionary(uniqueKeysWithValues: awsCAuthCases.map { ($0, ["header", "query"]) })
        .merging(
            ["s3-get-bucket-lifecycle": ["header"], "s3-get-object": ["header"], "s3-presigned-url": ["query"]]
        ) { first, _ in first }

    static let allCases: [String] = variantsByCase.keys.sorted()

    static func variants(_ kind: String) -> [Variant] {
        allCases.filter { variantsByCase[$0, default: []].contains(kind) }.map { Variant(caseName: $0, kind: kind) }
    }

    static let allVariants = variants("header") + variants("query")
    /// Variants an S3 signer reproduces, by kind.
    static let s3HeaderVariants = variants("header").filter { !normalizedCases.contains($0.caseName) }
    static let s3QueryVariants = variants("query").filter { !normalizedCases.contains($0.caseName) }
    /// Variants that expect the path normalized: skipped by rule.
    static let normalizedVariants = allVariants.filter { normalizedCases.contains($0.caseName) }
}
