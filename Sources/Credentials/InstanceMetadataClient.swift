import AgentSupport
import HTTPTransport

/// The EC2 instance metadata service, IMDSv2: a session token from `PUT /latest/api/token`,
/// then the role name from `GET /latest/meta-data/iam/security-credentials/` and its
/// credentials from `GET .../security-credentials/<role>`.
///
/// See https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html
/// and https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html#instance-metadata-security-credentials
public struct InstanceMetadataClient: Sendable {
    public static let defaultEndpoint = "http://169.254.169.254"
    /// The variable the AWS SDKs read to point at another metadata endpoint.
    public static let endpointVariable = "AWS_EC2_METADATA_SERVICE_ENDPOINT"
    static let tokenPath = "/latest/api/token"
    static let credentialsPath = "/latest/meta-data/iam/security-credentials/"

    /// Scheme, host and optional port, no trailing slash.
    public var endpoint: String
    /// Lifetime asked for the IMDSv2 session token.
    public var tokenTTLSeconds = 21600
    public var options: TransferOptions

    public init(endpoint: String) {
        var end = endpoint
        while end.hasSuffix("/") { end.removeLast() }
        self.endpoint = end
        // The metadata service answers in milliseconds or not at all (not on EC2).
        var options = TransferOptions()
        options.connectTimeout = 2
        options.totalTimeout = 10
        options.bypassProxy = true
        self.options = options
    }

    /// The endpoint `AWS_EC2_METADATA_SERVICE_ENDPOINT` names, else 169.254.169.254.
    public init(environment: [String: String]) {
        let configured = environment[Self.endpointVariable].flatMap { $0.isEmpty ? nil : $0 }
        self.init(endpoint: configured ?? Self.defaultEndpoint)
    }

    /// The instance role's current credentials. `INVALID_CONFIG` when there is no metadata
    /// service, no role attached, or an answer that is not credentials.
    public func fetchRoleCredentials() throws(AgentError) -> TemporaryCredentials {
        let http = HTTPClient()
        let token = try Self.sessionToken(from: try call(http, "PUT", Self.tokenPath, headers: [("X-aws-ec2-metadata-token-ttl-seconds", String(tokenTTLSeconds))]))
        let auth = [(name: "X-aws-ec2-metadata-token", value: token)]
        let role = try Self.roleName(from: try call(http, "GET", Self.credentialsPath, headers: auth))
        let document = try call(http, "GET", Self.credentialsPath + role, headers: auth)
        return try Self.parseCredentials(document, role: role)
    }

    /// The most an answer of the metadata service may hold (a credentials document is ~1.5 KiB).
    static let maxAnswerBytes = 64 << 10
    /// IAM role names: 1 to 64 of these (https://docs.aws.amazon.com/IAM/latest/APIReference/API_Role.html).
    static let maxRoleNameLength = 64

    /// What is wrong with the metadata service's answer naming the instance's role (the next
    /// request's path segment): the `cause` of the INVALID_CONFIG error. Never holds the answer.
    package enum RoleNameProblem: Error, Sendable, Equatable {
        /// An empty answer: no role attached.
        case none
        /// More than one line (an instance profile holds one role).
        case severalLines
        /// Longer than IAM allows.
        case tooLong(length: Int)
        /// A byte no IAM role name holds (`/`, `%`, a space, a control or non-ASCII byte), at a 1-based position.
        case invalidByte(UInt8, position: Int)
        /// `.` or `..`: a path segment that would climb the URL rather than name a role.
        case dotSegment
    }

    /// Checks the answer of `GET .../security-credentials/` (already trimmed of surrounding
    /// whitespace) before it goes into a URL: one line, 1–64 of `[A-Za-z0-9+=,.@_-]`.
    static func roleName(from answer: String) throws(AgentError) -> String {
        let bytes = Array(answer.utf8)
        let problem: RoleNameProblem?
        if bytes.isEmpty {
            problem = RoleNameProblem.none
        } else if bytes.contains(0x0A) || bytes.contains(0x0D) {
            problem = .severalLines
        } else if bytes.count > maxRoleNameLength {
            problem = .tooLong(length: bytes.count)
        } else if let at = bytes.firstIndex(where: { !isRoleNameByte($0) }) {
            problem = .invalidByte(bytes[at], position: at + 1)
        } else if bytes.allSatisfy({ $0 == 0x2E }) && bytes.count <= 2 {
            problem = .dotSegment
        } else {
            problem = nil
        }
        guard let problem else { return answer }
        let what: String
        switch problem {
        case .none:
            throw failure(
                "the instance has no IAM role attached", hint: "attach an instance profile with the bucket's permissions (samples/iam-policy.json) to this EC2 instance",
                cause: problem)
        case .severalLines: what = "holds more than one line"
        case .tooLong(let length): what = "is \(length) bytes long (IAM role names have 1 to \(maxRoleNameLength) characters)"
        case .invalidByte(let byte, let position):
            let hex = String(byte, radix: 16, uppercase: true)
            what = "holds byte 0x\(hex.count < 2 ? "0" + hex : hex) at position \(position), which no IAM role name has (letters, digits and +=,.@_- only)"
        case .dotSegment: what = "is a dot path segment, not a role name"
        }
        throw failure(
            "the metadata service's answer naming the instance role \(what); it was not used",
            hint: impostorHint,
            cause: problem)
    }

    /// Checks the IMDSv2 session token before it goes into a header: 1 to 4096 visible ASCII
    /// bytes (a line break would start a header of the server's choosing). Never echoed.
    static func sessionToken(from answer: String) throws(AgentError) -> String {
        let bytes = answer.utf8
        guard !bytes.isEmpty, bytes.count <= 4096, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw failure(
                "the metadata service's session token is empty, longer than 4096 bytes or holds a byte a header cannot (a space, a line break, a control or non-ASCII byte); it was not used",
                hint: impostorHint)
        }
        return answer
    }

    private static let impostorHint =
        "check that \(endpointVariable), if set, points at the instance metadata service, and that nothing on this host answers in its place"

    private static func isRoleNameByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        case UInt8(ascii: "+"), UInt8(ascii: "="), UInt8(ascii: ","), UInt8(ascii: "."), UInt8(ascii: "@"), UInt8(ascii: "_"), UInt8(ascii: "-"): return true
        default: return false
        }
    }

    /// Reads the role credentials document: `Code`, `AccessKeyId`, `SecretAccessKey`, `Token`,
    /// `Expiration` (ISO-8601 UTC).
    static func parseCredentials(_ text: String, role: String) throws(AgentError) -> TemporaryCredentials {
        guard let json = JSON.parse(text) else {
            throw failure("the credentials of instance role \(role) are not JSON", hint: "check that \(endpointVariable), if set, points at the instance metadata service")
        }
        if let code = json["Code"]?.stringValue, code != "Success" {
            throw failure("the metadata service answered \(code) for the credentials of instance role \(role)", hint: "check the instance profile attached to this instance")
        }
        guard let keyID = json["AccessKeyId"]?.stringValue, !keyID.isEmpty,
            let secret = json["SecretAccessKey"]?.stringValue, !secret.isEmpty,
            let token = json["Token"]?.stringValue, !token.isEmpty,
            let expirationText = json["Expiration"]?.stringValue, let expiration = Timestamp.parseISO8601(expirationText)
        else {
            throw failure("the credentials of instance role \(role) lack AccessKeyId, SecretAccessKey, Token or Expiration", hint: "check the instance profile attached to this instance")
        }
        return TemporaryCredentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: token, expiration: expiration)
    }

    private func call(_ http: HTTPClient, _ method: String, _ path: String, headers: [(name: String, value: String)]) throws(AgentError) -> String {
        let request = HTTPRequest(method: method, url: endpoint + path, headers: headers, body: .none, sink: .memory(limit: Self.maxAnswerBytes), options: options)
        switch http.execute(request) {
        case .failure(let error):
            throw Self.failure(
                "cannot reach the EC2 instance metadata service at \(endpoint) (\(error.message))",
                hint: "credentials = \"instance\" works on an EC2 instance with a role attached (and a metadata hop limit of 2 inside containers); elsewhere use access keys or `credentials = \"profile:NAME\"`")
        case .success(let response) where response.status == 200 && response.bodyLength > Int64(Self.maxAnswerBytes):
            // The sink kept the first 64 KiB only: refused whole rather than read cut.
            throw Self.failure(
                "the EC2 instance metadata service answered \(method) \(path) with \(response.bodyLength) bytes, more than the \(Self.maxAnswerBytes >> 10) KiB such an answer can hold; it was not used",
                hint: "check that \(Self.endpointVariable), if set, points at the instance metadata service")
        case .success(let response) where response.status == 200:
            return response.bodyText.trimming(" \t\r\n")
        case .success(let response):
            throw Self.failure(
                "the EC2 instance metadata service answered \(method) \(path) with HTTP \(response.status)",
                hint: response.status == 401 || response.status == 403
                    ? "IMDSv2 refused the session token; check the instance's metadata options (http-tokens, hop limit)"
                    : "attach an instance profile with the bucket's permissions to this EC2 instance")
        }
    }

    private static func failure(_ message: String, hint: String, cause: (any Error & Sendable)? = nil) -> AgentError {
        AgentError(.invalidConfig, "credentials = \"instance\": \(message)", hint: hint, cause: cause)
    }
}
