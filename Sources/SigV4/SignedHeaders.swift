/// The result of header signing.
///
/// See https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
/// ("Step 6: Add the signature to the request") and
/// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html.
public struct SignedHeaders: Sendable {
    /// Headers to add to the request: `X-Amz-Date`, `x-amz-content-sha256` (if requested),
    /// `X-Amz-Security-Token` (unless omitted from signing), `Authorization`.
    public var headers: [(name: String, value: String)]
    /// The canonical request that was hashed, for comparing with a server's `<CanonicalRequest>`.
    public var canonicalRequest: String
    /// The string that was signed, for comparing with a server's `<StringToSign>`.
    public var stringToSign: String
    /// 64 lowercase hex characters.
    public var signature: String

    public init(
        headers: [(name: String, value: String)], canonicalRequest: String, stringToSign: String, signature: String
    ) {
        self.headers = headers
        self.canonicalRequest = canonicalRequest
        self.stringToSign = stringToSign
        self.signature = signature
    }

    /// The value of the first added header with this name (ASCII case-insensitive).
    public func value(of name: String) -> String? {
        headers.first { SigV4Signer.asciiLowercased($0.name) == SigV4Signer.asciiLowercased(name) }?.value
    }
}
