/// Literal values for the last line of the canonical request and the `x-amz-content-sha256` header.
///
/// See https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
/// and https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html (`UNSIGNED-PAYLOAD`).
public enum PayloadHash {
    /// The body is not covered by the signature (presigned URLs, or TLS-protected uploads that skip hashing).
    public static let unsigned = "UNSIGNED-PAYLOAD"
    /// Lowercase hex SHA-256 of the empty body.
    public static let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
}
