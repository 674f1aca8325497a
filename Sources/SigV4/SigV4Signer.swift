import Hashing

/// AWS Signature Version 4 for S3: a pure value with the spec's stages as functions.
///
/// Implements https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html with the
/// S3 rules of https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html:
/// the path is URI-encoded exactly once and never normalized. No I/O, no clock: the caller passes
/// the signing time. The signing key is cached per (date, region, service) and shared by copies.
public struct SigV4Signer: Sendable {
    /// The algorithm name that opens the string to sign and the `Authorization` value.
    public static let algorithm = "AWS4-HMAC-SHA256"

    /// Lowercase names never signed: hop-by-hop headers and ones proxies and the transport
    /// rewrite, so a signature over them would break on the way.
    public static let unsignedHeaders: Set<String> = [
        "authorization", "connection", "expect", "keep-alive", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    public let credentials: SigningCredentials
    public let region: String
    public let service: String
    private let keyCache = SigningKeyCache()

    public init(credentials: SigningCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Signs a request with the `Authorization` header.
    ///
    /// See https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html.
    /// - Parameters:
    ///   - path: the raw (NOT percent-encoded) UTF-8 path, starting with "/".
    ///   - query: raw name/value pairs (value nil = no "=" given).
    ///   - headers: the request's headers (must include Host). Headers the signer adds replace
    ///     same-named ones here; do not send those twice.
    ///   - payloadHash: lowercase hex SHA-256 of the body, or a ``PayloadHash`` literal.
    ///   - date: seconds since the Unix epoch (UTC).
    ///   - addContentSHA256Header: add (and sign) `x-amz-content-sha256: <payloadHash>`, as S3 requires.
    ///   - omitSessionToken: leave the session token out of the signature and out of the added
    ///     headers; the caller adds `X-Amz-Security-Token` after signing if it wants it sent.
    public func sign(
        method: String, path: String, query: [(name: String, value: String?)], headers: [(name: String, value: String)],
        payloadHash: String, date: Int64, addContentSHA256Header: Bool = true, omitSessionToken: Bool = false
    ) -> SignedHeaders {
        let amzDate = AmzDate.format(date)
        var added: [(name: String, value: String)] = [("X-Amz-Date", amzDate)]
        if addContentSHA256Header {
            added.append(("x-amz-content-sha256", payloadHash))
        }
        if let token = credentials.sessionToken, !omitSessionToken {
            added.append(("X-Amz-Security-Token", token))
        }
        let replaced = Set(added.map { Self.asciiLowercased($0.name) })
        let signedInput = headers.filter { !replaced.contains(Self.asciiLowercased($0.name)) } + added

        let canonical = Self.canonicalRequest(
            method: method, path: path, query: query, headers: signedInput, payloadHash: payloadHash)
        let stringToSign = stringToSign(canonicalRequest: canonical.text, amzDate: amzDate)
        let signature = signature(stringToSign: stringToSign, amzDate: amzDate)
        let authorization =
            "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(credentialScope(amzDate: amzDate)), "
            + "SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"
        added.append(("Authorization", authorization))
        return SignedHeaders(
            headers: added, canonicalRequest: canonical.text, stringToSign: stringToSign, signature: signature)
    }

    /// Signs a request in its query string (a presigned URL).
    ///
    /// See https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html.
    /// No headers are added; every header given is signed, so presign with Host alone unless the
    /// URL's user will send the others verbatim.
    /// - Parameters:
    ///   - expires: `X-Amz-Expires`, seconds the URL stays valid (S3 accepts 1 to 604800).
    ///   - omitSessionToken: leave `X-Amz-Security-Token` out of the signature and out of the items.
    public func presign(
        method: String, path: String, query: [(name: String, value: String?)], headers: [(name: String, value: String)],
        expires: Int, date: Int64, payloadHash: String = PayloadHash.unsigned, omitSessionToken: Bool = false
    ) -> PresignedQuery {
        let amzDate = AmzDate.format(date)
        var items: [(name: String, value: String)] = [
            ("X-Amz-Algorithm", Self.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(credentialScope(amzDate: amzDate))"),
            ("X-Amz-Date", amzDate),
            ("X-Amz-Expires", String(expires)),
        ]
        if let token = credentials.sessionToken, !omitSessionToken {
            items.append(("X-Amz-Security-Token", token))
        }
        items.append(("X-Amz-SignedHeaders", Self.canonicalHeaders(headers).signedHeaders))

        let signedQuery = query + items.map { (name: $0.name, value: Optional($0.value)) }
        let canonical = Self.canonicalRequest(
            method: method, path: path, query: signedQuery, headers: headers, payloadHash: payloadHash)
        let stringToSign = stringToSign(canonicalRequest: canonical.text, amzDate: amzDate)
        let signature = signature(stringToSign: stringToSign, amzDate: amzDate)
        items.append(("X-Amz-Signature", signature))
        return PresignedQuery(
            queryItems: items, canonicalRequest: canonical.text, stringToSign: stringToSign, signature: signature)
    }

    // MARK: Stages

    /// `<YYYYMMDD>/<region>/<service>/aws4_request` for an `X-Amz-Date` value.
    ///
    /// See https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
    /// ("Step 3: Create a string to sign", CredentialScope).
    public func credentialScope(amzDate: String) -> String {
        "\(Self.dateStamp(amzDate))/\(region)/\(service)/aws4_request"
    }

    /// The string to sign: algorithm, request time, credential scope and the canonical request's hash.
    ///
    /// See https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
    /// ("Step 2: Create a hash of the canonical request", "Step 3: Create a string to sign").
    public func stringToSign(canonicalRequest: String, amzDate: String) -> String {
        "\(Self.algorithm)\n\(amzDate)\n\(credentialScope(amzDate: amzDate))\n"
            + Digest.sha256(canonicalRequest).hexString
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"),
    /// cached for the day.
    ///
    /// See https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
    /// ("Step 4: Derive a signing key").
    public func signingKey(dateStamp: String) -> [UInt8] {
        keyCache.key(dateStamp: dateStamp, region: region, service: service) {
            let dateKey = HMAC.sha256(key: Array("AWS4\(credentials.secretAccessKey)".utf8), data: dateStamp)
            let regionKey = HMAC.sha256(key: dateKey, data: region)
            let serviceKey = HMAC.sha256(key: regionKey, data: service)
            return HMAC.sha256(key: serviceKey, data: "aws4_request")
        }
    }

    /// Lowercase hex HMAC-SHA256 of the string to sign under the day's signing key.
    ///
    /// See https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
    /// ("Step 5: Calculate the signature").
    public func signature(stringToSign: String, amzDate: String) -> String {
        HMAC.sha256(key: signingKey(dateStamp: Self.dateStamp(amzDate)), data: stringToSign).hexString
    }

    /// How many signing keys this signer (and its copies) derived; the rest came from the cache.
    var signingKeyDerivations: Int { keyCache.derivations }

    /// The scope date: the first eight characters (`YYYYMMDD`) of an `X-Amz-Date` value.
    static func dateStamp(_ amzDate: String) -> String {
        String(amzDate.prefix(8))
    }
}
