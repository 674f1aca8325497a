// TEMPORARY stub of the profile types until the Providers module lands (removed at merge).
public enum AddressingStyle: String, Sendable { case path, virtual }
public enum IntegrityMode: String, Sendable {
    case signedPayload = "signed_payload", contentMD5 = "content_md5", checksumSHA256 = "checksum_sha256", checksumCRC32C = "checksum_crc32c"
}
public struct MultipartLimits: Sendable {
    public var minPartSize: Int64
    public var maxPartSize: Int64
    public var maxParts: Int
    public var equalParts: Bool
    public var maxSinglePut: Int64
    public var maxObjectSize: Int64
    public var multipartThreshold: Int64
}
public struct IntegritySupport: Sendable {
    public var signedPayload: Bool
    public var unsignedPayload: Bool
    public var contentMD5: Bool
    public var checksumAlgorithms: [String]
    public var awsChunked: Bool
    public var preferred: IntegrityMode
    public var etagIsMD5: Bool
}
