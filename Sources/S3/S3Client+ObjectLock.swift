import AgentSupport
import Hashing
import HTTPTransport
import SigV4

/// S3 Object Lock and versioning operations
/// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html).
extension S3Client {
    /// GetObjectLockConfiguration. `ObjectLockConfigurationNotFoundError` (and a server that
    /// ignores `?object-lock`) means a bucket without Object Lock; other refusals are thrown.
    public func getObjectLockConfiguration() throws(S3Error) -> BucketObjectLock {
        do {
            let r = try run(Operation(name: "GetObjectLockConfiguration", method: "GET", query: [("object-lock", nil)]))
            return BucketObjectLock.parse(XMLElement.parse(r.body))
        } catch {
            if error.failure.code == "ObjectLockConfigurationNotFoundError" { return BucketObjectLock(enabled: false) }
            throw error
        }
    }

    /// The `x-amz-object-lock-*` headers that write an object (PutObject, CreateMultipartUpload)
    /// with a retention.
    public static func objectLockHeaders(mode: String, retainUntil: Int64) -> [(name: String, value: String)] {
        [("x-amz-object-lock-mode", mode), ("x-amz-object-lock-retain-until-date", Timestamp.iso8601(retainUntil))]
    }

    /// PutObjectRetention, with Content-MD5 (AWS requires it or a checksum header).
    public func putObjectRetention(key: String, versionID: String? = nil, mode: String, retainUntil: Int64, bypassGovernance: Bool = false) throws(S3Error) {
        let body = Array(
            ("<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>\(xmlEscape(mode))</Mode>"
                + "<RetainUntilDate>\(Timestamp.iso8601(retainUntil))</RetainUntilDate></Retention>").utf8)
        var query: [(name: String, value: String?)] = [("retention", nil)]
        if let versionID { query.append(("versionId", versionID)) }
        var headers: [(name: String, value: String)] = [("Content-Type", "application/xml"), ("Content-MD5", Digest.md5(body).base64String)]
        if bypassGovernance { headers.append(("x-amz-bypass-governance-retention", "true")) }
        _ = try run(
            Operation(
                name: "PutObjectRetention", method: "PUT", key: key, query: query, headers: headers, body: .bytes(body),
                payloadHash: Digest.sha256(body).hexString))
    }

    /// GetObjectRetention; nil when the object has no retention (`NoSuchObjectLockConfiguration`).
    public func getObjectRetention(key: String, versionID: String? = nil) throws(S3Error) -> ObjectRetention? {
        var query: [(name: String, value: String?)] = [("retention", nil)]
        if let versionID { query.append(("versionId", versionID)) }
        let r: HTTPResponse
        do {
            r = try run(Operation(name: "GetObjectRetention", method: "GET", key: key, query: query))
        } catch {
            if error.failure.code == "NoSuchObjectLockConfiguration" { return nil }
            throw error
        }
        guard let root = XMLElement.parse(r.body), root.name == "Retention" || root.child("Retention") != nil else {
            throw S3Error(failure: .invalidResponse(operation: "GetObjectRetention", detail: "no <Retention> in the answer"), attempts: [])
        }
        let retention = root.name == "Retention" ? root : root.child("Retention")
        guard let mode = retention?.value("Mode"), !mode.isEmpty, let until = retention?.value("RetainUntilDate"), !until.isEmpty else { return nil }
        return ObjectRetention(mode: mode.uppercased(), retainUntilText: until)
    }

    /// Every object version and delete marker under `prefix`, following the markers. A listing
    /// that cannot be followed to its end is an error, never a silently partial list: prune
    /// would report a backup deleted with versions left behind.
    public func listObjectVersions(prefix: String) throws(S3Error) -> [ObjectVersion] {
        var versions: [ObjectVersion] = []
        var marker: (key: String?, version: String?) = (nil, nil)
        for _ in 0..<Self.maxListingPages {
            var query: [(name: String, value: String?)] = [("versions", nil), ("prefix", prefix)]
            if let key = marker.key { query.append(("key-marker", key)) }
            if let version = marker.version { query.append(("version-id-marker", version)) }
            let r = try run(Operation(name: "ListObjectVersions", method: "GET", query: query))
            let page = try Self.versionsPage(XMLElement.parse(r.body), after: marker)
            versions += page.versions
            guard let next = page.next else { return versions }
            marker = (next.key, next.version)
        }
        throw S3Error(
            failure: .invalidResponse(operation: "ListObjectVersions", detail: "still truncated after \(Self.maxListingPages) pages under \(prefix)"), attempts: [])
    }

    /// One page of ListObjectVersions: its versions and delete markers, and the markers of the
    /// next page (nil on the last). A page that says it is truncated but gives no next key
    /// marker, or repeats the markers it was asked with, cannot be followed: an error.
    static func versionsPage(_ root: XMLElement?, after marker: (key: String?, version: String?)) throws(S3Error) -> (
        versions: [ObjectVersion], next: (key: String, version: String?)?
    ) {
        guard let root, root.name == "ListVersionsResult" else {
            throw S3Error(failure: .invalidResponse(operation: "ListObjectVersions", detail: "no <ListVersionsResult> in the answer"), attempts: [])
        }
        var versions: [ObjectVersion] = []
        for child in root.children where child.name == "Version" || child.name == "DeleteMarker" {
            guard let key = child.value("Key"), let id = child.value("VersionId"), !id.isEmpty else { continue }
            versions.append(
                ObjectVersion(
                    key: key, versionID: id, isLatest: child.value("IsLatest")?.lowercased() == "true", isDeleteMarker: child.name == "DeleteMarker",
                    size: Int64(child.value("Size") ?? "") ?? 0, lastModified: child.value("LastModified") ?? ""))
        }
        guard root.value("IsTruncated")?.lowercased() == "true" else { return (versions, nil) }
        guard let nextKey = root.value("NextKeyMarker"), !nextKey.isEmpty else {
            throw S3Error(failure: .invalidResponse(operation: "ListObjectVersions", detail: "truncated listing without a NextKeyMarker"), attempts: [])
        }
        let nextVersion = root.value("NextVersionIdMarker").flatMap { $0.isEmpty ? nil : $0 }
        if nextKey == marker.key && nextVersion == marker.version {
            throw S3Error(failure: .invalidResponse(operation: "ListObjectVersions", detail: "truncated listing repeats its markers (\(nextKey))"), attempts: [])
        }
        return (versions, (nextKey, nextVersion))
    }

    /// DeleteObject of one version (or delete marker): removes it for good, unlike a plain
    /// DELETE on a versioned bucket, which only adds a delete marker.
    public func deleteObject(key: String, versionID: String, bypassGovernance: Bool = false) throws(S3Error) {
        var headers: [(name: String, value: String)] = []
        if bypassGovernance { headers.append(("x-amz-bypass-governance-retention", "true")) }
        _ = try run(Operation(name: "DeleteObject", method: "DELETE", key: key, query: [("versionId", versionID)], headers: headers))
    }
}
