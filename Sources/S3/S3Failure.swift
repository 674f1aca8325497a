import AgentSupport
import HTTPTransport

/// An error answer from the service, decoded from its XML body (or, for bodiless HEAD answers,
/// from the status alone).
public struct S3ServiceError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    /// The S3 error code (`NoSuchBucket`, `SignatureDoesNotMatch`...); "" when the body named none.
    public var code: String
    public var message: String
    public var requestID: String
    /// Every other element of `<Error>`: `Region`, `Endpoint`, `ServerTime`, `StringToSign`, `BucketName`...
    public var details: [String: String]
    public var headers: [(name: String, value: String)]
    /// The operation that received this answer (`PutObject`, `UploadPart`...).
    public var operation: String

    public init(status: Int, code: String, message: String, requestID: String, details: [String: String], headers: [(name: String, value: String)], operation: String) {
        self.status = status
        self.code = code
        self.message = message
        self.requestID = requestID
        self.details = details
        self.headers = headers
        self.operation = operation
    }

    /// Decodes an error answer. Lenient: servers differ (an empty `<Error>`, a missing body).
    public static func from(response: HTTPResponse, operation: String) -> S3ServiceError {
        var code = ""
        var message = ""
        var requestID = response.header("x-amz-request-id") ?? ""
        var details: [String: String] = [:]
        if let root = XMLElement.parse(response.body), root.name == "Error" {
            for child in root.children {
                let value = child.trimmedText
                switch child.name {
                case "Code": code = value
                case "Message": message = value
                case "RequestId": if !value.isEmpty { requestID = value }
                default: details[child.name] = value
                }
            }
        }
        if let region = response.header("x-amz-bucket-region"), details["Region"] == nil {
            details["BucketRegionHeader"] = region
        }
        return S3ServiceError(
            status: response.status, code: code, message: message, requestID: requestID, details: details, headers: response.headers,
            operation: operation)
    }

    /// The same answer with `accessKeyID` masked in its message: some servers quote the key id
    /// back (B2's "Invalid accessKeyId: 005..."), and the message reaches errors, attempt
    /// histories and agent.log.
    public func redacting(accessKeyID id: String) -> S3ServiceError {
        guard id.count > 4, message.contains(id) else { return self }
        var redacted = self
        redacted.message = message.replacingAll(id, with: Redaction.accessKeyID(id))
        return redacted
    }

    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first(where: { $0.name.lowercased() == lower })?.value
    }

    public var description: String {
        var text = "\(operation): HTTP \(status)"
        if !code.isEmpty { text += " \(code)" }
        if !message.isEmpty { text += ": \(message)" }
        if !requestID.isEmpty { text += " (request id \(requestID))" }
        return text
    }
}

/// Why an S3 request failed: no answer, an error answer, or an answer we could not read.
public enum S3Failure: Error, Sendable, CustomStringConvertible {
    case transport(TransportError)
    case service(S3ServiceError)
    case invalidResponse(operation: String, detail: String)

    public var description: String {
        switch self {
        case .transport(let t): return t.description
        case .service(let s): return s.description
        case .invalidResponse(let op, let detail): return "\(op): unreadable answer: \(detail)"
        }
    }

    /// What went wrong, without the operation's name (the caller names the operation).
    public var cause: String {
        switch self {
        case .transport(let t): return t.description
        case .service(let s):
            var text = "HTTP \(s.status)"
            if !s.code.isEmpty { text += " \(s.code)" }
            if !s.message.isEmpty { text += ": \(s.message)" }
            return text
        case .invalidResponse(_, let detail): return "unreadable answer: \(detail)"
        }
    }

    public var serviceError: S3ServiceError? {
        if case .service(let s) = self { return s }
        return nil
    }

    /// The S3 error code, if the server sent one.
    public var code: String? { serviceError?.code }

    /// The server does not know the multipart upload named in the request (aborted, expired, or
    /// already completed): `NoSuchUpload`, or `NoSuchKey` where Ceph RGW answers ListParts with it.
    public var isUnknownUpload: Bool {
        guard let s = serviceError else { return false }
        return s.code == "NoSuchUpload" || (s.code == "NoSuchKey" && s.operation == "ListParts")
    }

    /// Authentication failures are never retried (some providers lock accounts after repeated bad signatures).
    public var isAuthenticationFailure: Bool {
        guard let s = serviceError else { return false }
        return S3Failure.authenticationCodes.contains(s.code)
    }

    static let authenticationCodes: Set<String> = [
        "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired",
        "AuthorizationHeaderMalformed", "InvalidSecurity", "AccountProblem", "AllAccessDisabled",
    ]

    /// Codes that mean "try again": server trouble, throttling, and bytes damaged in transit.
    static let transientCodes: Set<String> = [
        "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling", "ThrottlingException",
        "RequestThrottled", "TooManyRequests", "BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch",
        "OperationAborted", "RequestTimeTooSkewed_Transient", "InternalServerError",
    ]

    /// SPEC 5's classification, in one place.
    public var isTransient: Bool {
        switch self {
        case .transport(let t): return t.isTransient
        case .invalidResponse: return true
        case .service(let s):
            if isAuthenticationFailure { return false }
            if S3Failure.transientCodes.contains(s.code) { return true }
            if s.status >= 500 || s.status == 429 { return true }
            return false
        }
    }

    /// Seconds the server asked us to wait (`Retry-After`), if any.
    public var retryAfter: Double? {
        guard let s = serviceError, let value = s.header("Retry-After") else { return nil }
        return Double(value.trimming(" "))
    }
}
