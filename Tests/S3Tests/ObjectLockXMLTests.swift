import HTTPTransport
import Testing

@testable import S3

/// Object Lock answers as AWS documents them, and as servers without it answer.
struct ObjectLockXMLTests {
    @Test func lockConfigurationWithDefaultRetention() {
        // API_GetObjectLockConfiguration.html response syntax.
        let doc = XMLElement.parse(
            """
            <?xml version="1.0" encoding="UTF-8"?>
            <ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled>\
            <Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>30</Days></DefaultRetention></Rule></ObjectLockConfiguration>
            """)
        let lock = BucketObjectLock.parse(doc)
        #expect(lock == BucketObjectLock(enabled: true, defaultMode: "COMPLIANCE", defaultDays: 30))
        #expect(lock.defaultRetentionDescription == "COMPLIANCE for 30 days" && lock.hasDefaultRetention)
        let years = BucketObjectLock.parse(
            XMLElement.parse("<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>"))
        #expect(years.defaultRetentionDays == 365 && years.defaultRetentionDescription == "GOVERNANCE for 1 year")
    }

    @Test func aServerThatIgnoresTheQueryHasNoLock() {
        // rclone serve s3 answers ?object-lock with a bucket listing.
        #expect(!BucketObjectLock.parse(XMLElement.parse("<ListBucketResult><Name>b</Name></ListBucketResult>")).enabled)
        #expect(!BucketObjectLock.parse(nil).enabled)
        #expect(!BucketObjectLock.parse(XMLElement.parse("<ObjectLockConfiguration></ObjectLockConfiguration>")).enabled)
    }

    @Test func retentionFromHeadHeaders() {
        let info = ObjectInfo(
            size: 1, etag: "e", lastModified: "",
            headers: [("x-amz-object-lock-mode", "governance"), ("X-Amz-Object-Lock-Retain-Until-Date", "2026-12-01T10:00:00.000Z")])
        let retention = ObjectRetention.from(info)
        #expect(retention?.mode == "GOVERNANCE")
        #expect(retention?.retainUntil == 1_796_119_200)
        #expect(ObjectRetention.from(ObjectInfo(size: 1, etag: "", lastModified: "", headers: [("x-amz-object-lock-mode", "GOVERNANCE")])) == nil)
    }

    @Test func lockHeadersAreRFC3339UTC() {
        let headers = S3Client.objectLockHeaders(mode: "COMPLIANCE", retainUntil: 1_796_119_200)
        #expect(headers.map(\.name) == ["x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date"])
        #expect(headers.map(\.value) == ["COMPLIANCE", "2026-12-01T10:00:00Z"])
    }

    /// Review finding 13: a version listing that cannot be followed to its end fails instead of
    /// returning part of the versions (API_ListObjectVersions.html response syntax).
    @Test func aVersionListingThatCannotBeFollowedIsAnError() throws {
        func page(_ truncated: Bool, next: String?, version: String? = nil) -> XMLElement? {
            var xml = "<ListVersionsResult><IsTruncated>\(truncated)</IsTruncated>"
            if let next { xml += "<NextKeyMarker>\(next)</NextKeyMarker>" }
            if let version { xml += "<NextVersionIdMarker>\(version)</NextVersionIdMarker>" }
            xml += "<Version><Key>h/b0/a.tar</Key><VersionId>v1</VersionId><IsLatest>true</IsLatest><Size>3</Size></Version>"
            xml += "<DeleteMarker><Key>h/b0/b.tar</Key><VersionId>v2</VersionId><IsLatest>true</IsLatest></DeleteMarker></ListVersionsResult>"
            return XMLElement.parse(xml)
        }
        let last = try S3Client.versionsPage(page(false, next: nil), after: (nil, nil))
        #expect(last.versions.map(\.versionID) == ["v1", "v2"] && last.versions[1].isDeleteMarker && last.next == nil)
        let more = try S3Client.versionsPage(page(true, next: "h/b0/b.tar", version: "v2"), after: (nil, nil))
        #expect(more.next?.key == "h/b0/b.tar" && more.next?.version == "v2")
        #expect(throws: S3Error.self) { try S3Client.versionsPage(page(true, next: nil), after: (nil, nil)) }
        #expect(throws: S3Error.self) { try S3Client.versionsPage(page(true, next: ""), after: (nil, nil)) }
        #expect(throws: S3Error.self) { try S3Client.versionsPage(page(true, next: "h/b0/b.tar", version: "v2"), after: ("h/b0/b.tar", "v2")) }
        #expect(throws: S3Error.self) { try S3Client.versionsPage(XMLElement.parse("<ListBucketResult/>"), after: (nil, nil)) }
    }
}
