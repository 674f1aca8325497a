import Testing

@testable import S3

/// Following ListObjectsV2 continuation tokens: to the end, or an error — never a silently
/// partial listing (fleet and list would miss hosts and backups) nor an endless loop.
struct ListingPagesTests {
    private func page(_ keys: [String], truncated: Bool, next: String?) -> ObjectListing {
        ObjectListing(objects: keys.map { S3Object(key: $0, size: 1, etag: "", lastModified: "") }, commonPrefixes: [], nextContinuationToken: next, isTruncated: truncated)
    }

    private func walk(_ pages: [String?: ObjectListing], maxPages: Int = 100) throws(S3Error) -> (keys: [String], asked: [String?]) {
        var keys: [String] = []
        var asked: [String?] = []
        try S3Client.followPages(under: "p/", maxPages: maxPages, fetch: { (token: String?) throws(S3Error) -> ObjectListing in
            asked.append(token)
            return pages[token] ?? page([], truncated: false, next: nil)
        }) { keys += $0.objects.map(\.key) }
        return (keys, asked)
    }

    @Test func everyPageIsFollowedToTheEnd() throws {
        let got = try walk([nil: page(["a"], truncated: true, next: "t1"), "t1": page(["b"], truncated: true, next: "t2"), "t2": page(["c"], truncated: false, next: nil)])
        #expect(got.keys == ["a", "b", "c"])
        #expect(got.asked == [nil, "t1", "t2"])
    }

    @Test func aTruncatedPageWithoutATokenIsAnError() {
        #expect(throws: S3Error.self) { try walk([nil: page(["a"], truncated: true, next: nil)]) }
    }

    @Test func aRepeatedTokenIsAnErrorNotALoop() {
        #expect(throws: S3Error.self) { try walk([nil: page(["a"], truncated: true, next: "t"), "t": page(["b"], truncated: true, next: "t")]) }
    }

    @Test func theNumberOfPagesIsCapped() {
        var pages: [String?: ObjectListing] = [nil: page([], truncated: true, next: "0")]
        for i in 0..<10 { pages["\(i)"] = page([], truncated: true, next: "\(i + 1)") }
        #expect(throws: S3Error.self) { try walk(pages, maxPages: 5) }
    }
}
