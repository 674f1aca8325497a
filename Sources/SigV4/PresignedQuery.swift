/// The result of query-string signing (a presigned URL).
///
/// See https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html.
public struct PresignedQuery: Sendable {
    /// The `X-Amz-*` items to add to the URL's query, `X-Amz-Signature` last. Values are NOT
    /// percent-encoded: encode them with ``SigV4Signer/uriEncode(_:encodeSlash:)`` (`encodeSlash: true`).
    public var queryItems: [(name: String, value: String)]
    /// The canonical request that was hashed, for comparing with a server's `<CanonicalRequest>`.
    public var canonicalRequest: String
    /// The string that was signed, for comparing with a server's `<StringToSign>`.
    public var stringToSign: String
    /// 64 lowercase hex characters.
    public var signature: String

    public init(
        queryItems: [(name: String, value: String)], canonicalRequest: String, stringToSign: String, signature: String
    ) {
        self.queryItems = queryItems
        self.canonicalRequest = canonicalRequest
        self.stringToSign = stringToSign
        self.signature = signature
    }

    /// The items percent-encoded and joined as `name=value&…`, ready to append to a URL's query.
    public var encodedQuery: String {
        queryItems.map {
            SigV4Signer.uriEncode($0.name, encodeSlash: true) + "=" + SigV4Signer.uriEncode($0.value, encodeSlash: true)
        }.joined(separator: "&")
    }
}
