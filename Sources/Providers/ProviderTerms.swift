/// The provider's own words for keys, consoles and permissions, used in hints.
public struct ProviderTerms: Sendable, Equatable {
    /// What the provider calls the access key id ("Access Key ID", "keyID").
    public var accessKey: String
    /// What the provider calls the secret ("Secret Access Key", "applicationKey").
    public var secretKey: String
    /// Where keys are made ("IAM console", "R2 > Manage R2 API Tokens").
    public var keyConsole: String
    /// Where buckets are managed.
    public var bucketConsole: String
    /// S3 action (`s3:PutObject`) -> the provider's words for the permission that grants it.
    public var permissions: [String: String]

    public init(accessKey: String, secretKey: String, keyConsole: String, bucketConsole: String, permissions: [String: String]) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.keyConsole = keyConsole
        self.bucketConsole = bucketConsole
        self.permissions = permissions
    }

    /// The provider's words for the permission granting `s3Action`, else "the s3:X permission".
    public func permission(_ s3Action: String) -> String {
        permissions[s3Action] ?? "the \(s3Action) permission"
    }
}
