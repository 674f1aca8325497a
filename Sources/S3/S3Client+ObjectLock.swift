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

    /// Every object version and delete marker under `prefix`, following the markers.
    public func listObjectVersions(prefix: String) throws(S3Error) -> [ObjectVersion] {
        var versions: [ObjectVersion] = []
        var keyMarker: String?
        var versionMarker: String?
        for _ in 0..<100_000 {
            var query: [(name: String, value: String?)] = [("versions", nil), ("prefix", prefix)]
            if let keyMarker { query.append(("key-marker", keyMarker)) }
            if let versionMarker { query.append(("version-id-marker", versionMarker)) }
            let r = try run(Operation(name: "ListObjectVersions", method: "GET", query: query))
            guard let root = XMLElement.parse(r.body), root.name == "ListVersionsResult" else {
                throw S3Error(failure: .invalidResponse(operation: "ListObjectVersions", detail: "no <ListVersionsResult> in the answer"), attempts: [])
            }
            for child in root.children where child.name == "Version" || child.name == "DeleteMarker" {
                guard let key = child.value("Key"), let id = child.value("VersionId"), !id.isEmpty else { continue }
                versions.append(
                    ObjectVersion(
                        key: key, versionID: id, isLatest: child.value("IsLatest")?.lowercased() == "true", isDeleteMarker: child.name == "DeleteMarker",
                        size: Int64(child.value("Size") ?? "") ?? 0, lastModified: child.value("LastModified") ?? ""))
            }
            let truncated = root.value("IsTruncated")?.lowercased() == "true"
            let nextKey = root.value("NextKeyMarker")
            let nextVersion = root.value("NextVersionIdMarker")
            guard truncated, let nextKey, !nextKey.isEmpty, (nextKey, nextVersion) != (keyMarker, versionMarker) else { break }
            keyMarker = nextKey
            versionMarker = nextVersion
        }
        return versions
    }

    /// DeleteObject of one version (or delete marker): removes it for good, unlike a plain
    /// DELETE on a versioned bucket, which only adds a delete marker.
    public func deleteObject(key: String, versionID: String, bypassGovernance: Bool = false) throws(S3Error) {
        var headers: [(name: String, value: String)] = []
        if bypassGovernance { headers.append(("x-amz-bypass-governance-retention", "true")) }
        _ = try run(Operation(name: "DeleteObject", method: "DELETE", key: key, query: [("versionId", versionID)], headers: headers))
    }
}
