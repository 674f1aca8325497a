/// A key pair with a session token that stops working at `expiration` (an instance role's
/// credentials). Never printed whole.
public struct TemporaryCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String
    /// Seconds since the Unix epoch.
    public var expiration: Int64

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String, expiration: Int64) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }
}

extension TemporaryCredentials: CustomStringConvertible {
    /// Redacted: interpolating credentials into a message never leaks the secret or token.
    public var description: String {
        "TemporaryCredentials(accessKeyID: …\(accessKeyID.suffix(4)), secretAccessKey: <redacted>, sessionToken: <redacted>, expiration: \(expiration))"
    }
}
