/// An object in a listing.
public struct S3Object: Sendable, Equatable {
    public var key: String
    public var size: Int64
    public var etag: String
    public var lastModified: String
}

/// One page of ListObjectsV2.
public struct ObjectListing: Sendable {
    public var objects: [S3Object]
    public var commonPrefixes: [String]
    public var nextContinuationToken: String?
    public var isTruncated: Bool
}

/// A part the server holds (ListParts) or that we sent.
public struct UploadedPart: Sendable, Equatable {
    public var number: Int
    public var etag: String
    public var size: Int64
    /// The part's `x-amz-checksum-crc32c` (base64), named again at CompleteMultipartUpload.
    public var checksumCRC32C: String?
    public init(number: Int, etag: String, size: Int64, checksumCRC32C: String? = nil) {
        self.number = number
        self.etag = etag
        self.size = size
        self.checksumCRC32C = checksumCRC32C
    }
}

/// A multipart upload in progress (ListMultipartUploads).
public struct MultipartUploadInfo: Sendable, Equatable {
    public var key: String
    public var uploadID: String
    public var initiated: String
}

/// HeadObject's answer.
public struct ObjectInfo: Sendable {
    public var size: Int64
    public var etag: String
    public var lastModified: String
    public var headers: [(name: String, value: String)]

    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first(where: { $0.name.lowercased() == lower })?.value
    }
}

/// Strips the quotes servers put around ETags.
public func unquoteETag(_ etag: String) -> String {
    var e = Substring(etag)
    if e.hasPrefix("W/") { e = e.dropFirst(2) }
    while e.first == "\"" { e.removeFirst() }
    while e.last == "\"" { e.removeLast() }
    return String(e)
}
