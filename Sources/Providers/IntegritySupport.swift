/// A way of having the server verify every byte it stores (SPEC 5).
public enum IntegrityMode: String, Sendable, CaseIterable {
    /// SigV4 with the payload's SHA-256 signed (`x-amz-content-sha256`).
    case signedPayload = "signed_payload"
    /// `Content-MD5` header.
    case contentMD5 = "content_md5"
    /// `x-amz-checksum-sha256` header.
    case checksumSHA256 = "checksum_sha256"
    /// `x-amz-checksum-crc32c` header.
    case checksumCRC32C = "checksum_crc32c"
}

/// Which integrity mechanisms a provider verifies (not merely accepts).
public struct IntegritySupport: Sendable, Equatable {
    /// The `x-amz-checksum-*` algorithm names a profile may list.
    public static let knownChecksumAlgorithms = ["crc32", "crc32c", "sha1", "sha256", "crc64nvme"]

    public var signedPayload: Bool
    /// Whether `UNSIGNED-PAYLOAD` is accepted.
    public var unsignedPayload: Bool
    public var contentMD5: Bool
    /// `x-amz-checksum-*` algorithms the provider verifies; empty when it accepts none.
    public var checksumAlgorithms: [String]
    /// Whether `aws-chunked` streaming bodies are accepted.
    public var awsChunked: Bool
    /// The mechanism uploads use by default; always one the provider verifies.
    public var preferred: IntegrityMode
    /// Whether a single-part object's ETag is the MD5 of its bytes.
    public var etagIsMD5: Bool

    public init(
        signedPayload: Bool, unsignedPayload: Bool, contentMD5: Bool, checksumAlgorithms: [String],
        awsChunked: Bool, preferred: IntegrityMode, etagIsMD5: Bool
    ) {
        self.signedPayload = signedPayload
        self.unsignedPayload = unsignedPayload
        self.contentMD5 = contentMD5
        self.checksumAlgorithms = checksumAlgorithms
        self.awsChunked = awsChunked
        self.preferred = preferred
        self.etagIsMD5 = etagIsMD5
    }

    /// Whether the provider verifies `mode`.
    public func verifies(_ mode: IntegrityMode) -> Bool {
        switch mode {
        case .signedPayload: return signedPayload
        case .contentMD5: return contentMD5
        case .checksumSHA256: return checksumAlgorithms.contains("sha256")
        case .checksumCRC32C: return checksumAlgorithms.contains("crc32c")
        }
    }

    /// Every mechanism the provider verifies, in `IntegrityMode` order.
    public var verifiedModes: [IntegrityMode] { IntegrityMode.allCases.filter(verifies) }
}
