import Hashing
import HTTPTransport
import SigV4

/// A failed operation with every attempt's error.
public struct S3Error: Error, Sendable, CustomStringConvertible {
    public var failure: S3Failure
    public var attempts: [String]
    public init(failure: S3Failure, attempts: [String]) {
        self.failure = failure
        self.attempts = attempts
    }
    public var description: String { failure.description }
}

/// The S3 API operations, each a blocking call that retries transient failures.
extension S3Client {
    func run(_ op: Operation) throws(S3Error) -> HTTPResponse {
        let (result, attempts) = perform(op)
        switch result {
        case .success(let r): return r
        case .failure(let f): throw S3Error(failure: f, attempts: attempts)
        }
    }

    private func xml(_ response: HTTPResponse, _ operation: String) throws(S3Error) -> XMLElement {
        do throws(XMLParseError) {
            return try XMLElement.decode(response.body)
        } catch {
            throw S3Error(failure: .invalidResponse(operation: operation, detail: "no whole XML document in the answer (\(error))"), attempts: [])
        }
    }

    // MARK: bucket

    public func headBucket() throws(S3Error) {
        _ = try run(Operation(name: "HeadBucket", method: "HEAD"))
    }

    /// The bucket's region as GetBucketLocation names it ("" means us-east-1 on AWS).
    public func getBucketLocation() throws(S3Error) -> String {
        let r = try run(Operation(name: "GetBucketLocation", method: "GET", query: [("location", nil)]))
        return try xml(r, "GetBucketLocation").trimmedText
    }

    public func listObjectsV2(prefix: String, continuationToken: String? = nil, maxKeys: Int = 1000, delimiter: String? = nil) throws(S3Error) -> ObjectListing {
        var query: [(name: String, value: String?)] = [("list-type", "2"), ("max-keys", String(maxKeys)), ("prefix", prefix)]
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        if let delimiter { query.append(("delimiter", delimiter)) }
        let r = try run(Operation(name: "ListObjectsV2", method: "GET", query: query))
        let root = try xml(r, "ListObjectsV2")
        let objects = root.children("Contents").map { c in
            S3Object(
                key: c.value("Key") ?? "", size: Int64(c.value("Size") ?? "") ?? 0, etag: unquoteETag(c.value("ETag") ?? ""),
                lastModified: c.value("LastModified") ?? "")
        }
        let prefixes = root.children("CommonPrefixes").compactMap { $0.value("Prefix") }
        let truncated = (root.value("IsTruncated") ?? "false").lowercased() == "true"
        let token = root.value("NextContinuationToken")
        return ObjectListing(objects: objects, commonPrefixes: prefixes, nextContinuationToken: token?.isEmpty == false ? token : nil, isTruncated: truncated)
    }

    /// Every object under `prefix`, following continuation tokens.
    public func listAllObjects(prefix: String) throws(S3Error) -> [S3Object] {
        var all: [S3Object] = []
        try forEachListingPage(prefix: prefix) { all += $0.objects }
        return all
    }

    /// Pages of any listing followed at most (ListObjectsV2, ListObjectVersions, ListParts,
    /// ListMultipartUploads): one bound against a server whose markers never end. 100,000 pages
    /// of 1,000 entries are 100 million keys — a vault of many-files backups can hold tens of
    /// millions, so the object listings need this much. ListParts and ListMultipartUploads had
    /// 10,000 until they shared it: no server that keeps S3's limits comes near either (10,000
    /// parts are 10 pages), and ListParts also stops at part number 10,000 (`maxPartNumber`),
    /// so its walk is no longer than before.
    static let maxListingPages = 100_000
    /// S3's highest part number: a ListParts marker beyond it ends the list.
    static let maxPartNumber = 10_000

    /// Each page of the listing under `prefix`, following continuation tokens to the end. A
    /// listing that cannot be followed to its end (truncated without a token, a token repeated,
    /// more than `maxListingPages` pages) is an error, never a silently partial list or a loop.
    public func forEachListingPage(prefix: String, delimiter: String? = nil, _ body: (ObjectListing) -> Void) throws(S3Error) {
        try Self.followPages(under: prefix, fetch: { (token: String?) throws(S3Error) -> ObjectListing in
            try listObjectsV2(prefix: prefix, continuationToken: token, delimiter: delimiter)
        }, body)
    }

    /// `forEachListingPage`'s walk over pages that `fetch` returns for a continuation token.
    static func followPages(
        under prefix: String, maxPages: Int = maxListingPages, fetch: (String?) throws(S3Error) -> ObjectListing, _ body: (ObjectListing) -> Void
    ) throws(S3Error) {
        var token: String?
        var seen: Set<String> = []
        for _ in 0..<maxPages {
            let page = try fetch(token)
            body(page)
            guard page.isTruncated else { return }
            guard let next = page.nextContinuationToken else {
                throw S3Error(failure: .invalidResponse(operation: "ListObjectsV2", detail: "truncated listing without a NextContinuationToken"), attempts: [])
            }
            guard seen.insert(next).inserted else {
                throw S3Error(failure: .invalidResponse(operation: "ListObjectsV2", detail: "truncated listing repeats its continuation token"), attempts: [])
            }
            token = next
        }
        throw S3Error(failure: .invalidResponse(operation: "ListObjectsV2", detail: "still truncated after \(maxPages) pages under \(prefix)"), attempts: [])
    }

    // MARK: objects

    /// PutObject: `payloadHash` is the hex SHA-256 (signed payload) or `UNSIGNED-PAYLOAD`;
    /// `headers` carries Content-MD5 / x-amz-checksum-* / storage class as the caller chose.
    @discardableResult
    public func putObject(key: String, body: RequestBody, payloadHash: String, headers: [(name: String, value: String)] = []) throws(S3Error) -> String {
        let r = try run(putObjectOperation(key: key, body: body, payloadHash: payloadHash, headers: headers))
        return unquoteETag(r.header("ETag") ?? "")
    }

    /// The PutObject operation, to be sent concurrently with `send` (many small files at once).
    public func putObjectOperation(key: String, body: RequestBody, payloadHash: String, headers: [(name: String, value: String)] = []) -> Operation {
        Operation(name: "PutObject", method: "PUT", key: key, headers: headers, body: body, payloadHash: payloadHash)
    }

    /// `checksumMode`: ask for the stored full-object checksum (`x-amz-checksum-mode: ENABLED`);
    /// a provider that keeps one answers it as `x-amz-checksum-crc32c` (or another algorithm's header).
    public func headObject(key: String, checksumMode: Bool = false) throws(S3Error) -> ObjectInfo {
        ObjectInfo(headAnswer: try run(headObjectOperation(key: key, checksumMode: checksumMode)))
    }

    /// HeadObject to `send` through the transfer loop (several in flight); its answer read with
    /// `ObjectInfo(headAnswer:)`.
    public func headObjectOperation(key: String, checksumMode: Bool = false) -> Operation {
        Operation(name: "HeadObject", method: "HEAD", key: key, headers: checksumMode ? [("x-amz-checksum-mode", "ENABLED")] : [])
    }

    /// GetObject, optionally a byte range (`Range: bytes=first-last`), into a sink.
    public func getObject(key: String, range: ClosedRange<Int64>? = nil, sink: ResponseSink = .memory(limit: 64 << 20)) throws(S3Error) -> HTTPResponse {
        var headers: [(name: String, value: String)] = []
        if let range { headers.append(("Range", "bytes=\(range.lowerBound)-\(range.upperBound)")) }
        return try run(Operation(name: "GetObject", method: "GET", key: key, headers: headers, sink: sink))
    }

    public func deleteObject(key: String) throws(S3Error) {
        _ = try run(Operation(name: "DeleteObject", method: "DELETE", key: key))
    }

    // MARK: multipart

    public func createMultipartUpload(key: String, headers: [(name: String, value: String)] = []) throws(S3Error) -> String {
        let r = try run(Operation(name: "CreateMultipartUpload", method: "POST", key: key, query: [("uploads", nil)], headers: headers))
        // AWS answers <InitiateMultipartUploadResult>, some servers <InitiateMultipartUpload>: read the UploadId wherever it is.
        let root = try xml(r, "CreateMultipartUpload")
        guard let id = root.value("UploadId"), !id.isEmpty else {
            throw S3Error(failure: .invalidResponse(operation: "CreateMultipartUpload", detail: "no UploadId in the answer"), attempts: [])
        }
        return id
    }

    /// The operation for one part, to be sent concurrently with `send`.
    public func uploadPartOperation(
        key: String, uploadID: String, partNumber: Int, body: RequestBody, payloadHash: String, headers: [(name: String, value: String)] = []
    ) -> Operation {
        Operation(
            name: "UploadPart", method: "PUT", key: key, query: [("partNumber", String(partNumber)), ("uploadId", uploadID)], headers: headers,
            body: body, payloadHash: payloadHash)
    }

    /// CompleteMultipartUpload. A 200 with an `<Error>` body is a failure (handled in `send`).
    /// Complete may think for minutes: no stall cut, a generous total timeout instead.
    /// `headers`: the full-object checksum (`x-amz-checksum-crc32c`, `x-amz-checksum-type`) where one was asked for.
    public func completeMultipartUpload(key: String, uploadID: String, parts: [UploadedPart], headers: [(name: String, value: String)] = []) throws(S3Error) -> String {
        var body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for p in parts.sorted(by: { $0.number < $1.number }) {
            let crc = p.checksumCRC32C.map { "<ChecksumCRC32C>\(xmlEscape($0))</ChecksumCRC32C>" } ?? ""
            body += "<Part><PartNumber>\(p.number)</PartNumber><ETag>\"\(xmlEscape(p.etag))\"</ETag>\(crc)</Part>"
        }
        body += "</CompleteMultipartUpload>"
        let bytes = Array(body.utf8)
        var opts = options
        opts.stallTimeout = 0
        opts.totalTimeout = 900
        let r = try run(
            Operation(
                name: "CompleteMultipartUpload", method: "POST", key: key, query: [("uploadId", uploadID)],
                headers: [("Content-Type", "application/xml")] + headers, body: .bytes(bytes), payloadHash: Digest.sha256Hex(bytes), options: opts))
        let root = try xml(r, "CompleteMultipartUpload")
        return unquoteETag(root.value("ETag") ?? r.header("ETag") ?? "")
    }

    public func abortMultipartUpload(key: String, uploadID: String) throws(S3Error) {
        _ = try run(Operation(name: "AbortMultipartUpload", method: "DELETE", key: key, query: [("uploadId", uploadID)]))
    }

    /// Every part the server holds for an upload, following `NextPartNumberMarker` while it moves
    /// forward (part numbers ascend, up to `maxPartNumber`) and for at most `maxListingPages` pages: a
    /// server whose markers go round in circles ends the list instead of looping. A part missing from a list cut short
    /// is only sent again.
    public func listParts(key: String, uploadID: String) throws(S3Error) -> [UploadedPart] {
        var parts: [UploadedPart] = []
        var marker: String?
        for _ in 0..<Self.maxListingPages {
            var query: [(name: String, value: String?)] = [("uploadId", uploadID), ("max-parts", "1000")]
            if let marker { query.append(("part-number-marker", marker)) }
            let r = try run(Operation(name: "ListParts", method: "GET", key: key, query: query))
            let root = try xml(r, "ListParts")
            for p in root.children("Part") {
                guard let n = Int(p.value("PartNumber") ?? "") else { continue }
                parts.append(UploadedPart(number: n, etag: unquoteETag(p.value("ETag") ?? ""), size: Int64(p.value("Size") ?? "") ?? 0))
            }
            let truncated = (root.value("IsTruncated") ?? "false").lowercased() == "true"
            let next = root.value("NextPartNumberMarker")
            guard truncated, let next, !next.isEmpty else { break }
            guard let n = Int(next), n > Int(marker ?? "0") ?? 0, n < Self.maxPartNumber else { break }
            marker = String(n)
        }
        return parts
    }

    /// Multipart uploads in progress under `prefix`, following the markers until they end, repeat
    /// or `maxListingPages` pages were read.
    public func listMultipartUploads(prefix: String) throws(S3Error) -> [MultipartUploadInfo] {
        var uploads: [MultipartUploadInfo] = []
        var keyMarker: String?
        var idMarker: String?
        var seen: Set<String> = []
        for _ in 0..<Self.maxListingPages {
            var query: [(name: String, value: String?)] = [("uploads", nil), ("prefix", prefix)]
            if let keyMarker { query.append(("key-marker", keyMarker)) }
            if let idMarker { query.append(("upload-id-marker", idMarker)) }
            let r: HTTPResponse
            do {
                r = try run(Operation(name: "ListMultipartUploads", method: "GET", query: query))
            } catch {
                // Some servers answer NoSuchUpload when there are none.
                if error.failure.code == "NoSuchUpload" { return uploads }
                throw error
            }
            let root = try xml(r, "ListMultipartUploads")
            for u in root.children("Upload") {
                uploads.append(MultipartUploadInfo(key: u.value("Key") ?? "", uploadID: u.value("UploadId") ?? "", initiated: u.value("Initiated") ?? ""))
            }
            let truncated = (root.value("IsTruncated") ?? "false").lowercased() == "true"
            guard truncated, let nk = root.value("NextKeyMarker"), !nk.isEmpty else { break }
            // Markers seen before: the server goes round in circles; what was listed is kept.
            guard seen.insert(nk + "\u{0}" + (root.value("NextUploadIdMarker") ?? "")).inserted else { break }
            keyMarker = nk
            idMarker = root.value("NextUploadIdMarker")
        }
        return uploads
    }
}

extension Digest {
    static func sha256Hex(_ bytes: [UInt8]) -> String { Digest.sha256(bytes).hexString }
}

extension ObjectInfo {
    /// What a HeadObject answer says of the object.
    public init(headAnswer r: HTTPResponse) {
        self.init(
            size: Int64(r.header("Content-Length") ?? "") ?? 0, etag: unquoteETag(r.header("ETag") ?? ""), lastModified: r.header("Last-Modified") ?? "",
            headers: r.headers)
    }
}
