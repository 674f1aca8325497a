import AgentSupport
import Credentials

/// The keys a vault signs requests with, and where they came from (never printed whole).
public struct VaultCredentials: Sendable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// Where the credentials came from, for `config check`: "config", "file /etc/...",
    /// "env NAME", "env AWS_*", "profile:NAME", or "config + file ..." when the key id and the
    /// secret came from different places.
    public var source: String
    /// Set for `credentials = "instance"`: where renewed credentials come from before these expire.
    public var instanceRole: InstanceRoleCredentials?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String?, source: String, instanceRole: InstanceRoleCredentials? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.source = source
        self.instanceRole = instanceRole
    }

    /// The access key id shown by its last 4 characters.
    public var redactedAccessKeyID: String { Redaction.accessKeyID(accessKeyID) }
}

extension VaultCredentials: CustomStringConvertible {
    /// Redacted: interpolating credentials into a message never leaks the secret.
    public var description: String {
        "VaultCredentials(accessKeyID: \(redactedAccessKeyID), secretAccessKey: \(Redaction.secret), sessionToken: \(sessionToken == nil ? "none" : Redaction.secret), source: \(source))"
    }
}
