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
        let token = try call(http, "PUT", Self.tokenPath, headers: [("X-aws-ec2-metadata-token-ttl-seconds", String(tokenTTLSeconds))])
        let auth = [(name: "X-aws-ec2-metadata-token", value: token)]
        let roles = try call(http, "GET", Self.credentialsPath, headers: auth)
        guard let role = roles.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map(String.init), !role.isEmpty else {
            throw Self.failure("the instance has no IAM role attached", hint: "attach an instance profile with the bucket's permissions (samples/iam-policy.json) to this EC2 instance")
        }
        let document = try call(http, "GET", Self.credentialsPath + role, headers: auth)
        return try Self.parseCredentials(document, role: role)
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
        let request = HTTPRequest(method: method, url: endpoint + path, headers: headers, body: .none, sink: .memory(limit: 64 << 10), options: options)
        switch http.execute(request) {
        case .failure(let error):
            throw Self.failure(
                "cannot reach the EC2 instance metadata service at \(endpoint) (\(error.message))",
                hint: "credentials = \"instance\" works on an EC2 instance with a role attached (and a metadata hop limit of 2 inside containers); elsewhere use access keys or `credentials = \"profile:NAME\"`")
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

    private static func failure(_ message: String, hint: String) -> AgentError {
        AgentError(.invalidConfig, "credentials = \"instance\": \(message)", hint: hint)
    }
}
