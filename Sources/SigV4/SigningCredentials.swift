/// The access key pair (and optional STS session token) a request is signed with.
///
/// See https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
/// ("Step 4: Derive a signing key" uses the secret; the key ID goes into the credential scope).
public struct SigningCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Temporary credentials' token, sent as `X-Amz-Security-Token`.
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

extension SigningCredentials: CustomStringConvertible {
    /// Never prints the secret or the token, so credentials can appear in logs and errors.
    public var description: String {
        "SigningCredentials(accessKeyID: \(accessKeyID), secretAccessKey: <redacted>"
            + (sessionToken == nil ? ")" : ", sessionToken: <redacted>)")
    }
}
