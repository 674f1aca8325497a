import AgentSupport

/// How a bucket appears in request URLs.
public enum AddressingStyle: String, Sendable, CaseIterable {
    /// `https://endpoint/bucket/key`
    case path
    /// `https://bucket.endpoint/key`
    case virtual
}

/// Everything that differs between S3-compatible providers, read from `providers/<name>.toml`.
/// Code asks the profile; it never branches on a provider's name.
public struct ProviderProfile: Sendable {
    /// The name vaults use in `provider = "..."`.
    public var name: String
    public var displayName: String
    /// The endpoint with `{region}` and setting placeholders such as `{account_id}`; empty when
    /// the operator must set `endpoint` in the vault.
    public var endpointTemplate: String
    /// The region used when a vault sets none; nil when the operator must set one.
    public var defaultRegion: String?
    /// The only regions the provider accepts; empty means any.
    public var regions: [String]
    /// Regions known to exist, for hints and offline checks.
    public var knownRegions: [String]
    /// Vault settings the endpoint template needs (e.g. `account_id`).
    public var requiredSettings: [String]
    public var addressing: AddressingStyle
    /// Whether the provider serves virtual-hosted-style requests at all.
    public var virtualHosted: Bool
    /// Where the operator finds the right region, for messages.
    public var regionHint: String
    public var multipart: MultipartLimits
    public var integrity: IntegritySupport
    public var terms: ProviderTerms
    /// Whether the provider implements S3 Object Lock (`[object_lock]`).
    public var objectLock: ObjectLockSupport = .undeclared
    /// `built-in` or the path of the file the profile was read from.
    public var source: String

    /// The endpoint base URL for `region`, with the template's setting placeholders filled from
    /// `settings`. `INVALID_CONFIG` names a missing setting, or says `endpoint` must be set when
    /// the profile has no template.
    public func endpoint(region: String, settings: [String: String]) throws -> String {
        guard !endpointTemplate.isEmpty else {
            throw AgentError(
                .invalidConfig, "provider `\(name)` (\(displayName)) has no standard endpoint",
                hint: "set `endpoint = \"https://...\"` in the vault to your \(displayName) server's URL")
        }
        return try EndpointTemplate.render(endpointTemplate, region: region, settings: settings, provider: self)
    }
}
