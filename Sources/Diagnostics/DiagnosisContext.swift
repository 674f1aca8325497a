import AgentSupport
import Config
import Providers

/// What the diagnoses need to know about the vault under test, so that every explanation can
/// name the configured value and every fix the exact line to write. Holds facts about the
/// secret (whitespace, length), never the secret itself.
public struct DiagnosisContext: Sendable {
    public var vaultName: String
    public var configPath: String
    public var profile: ProviderProfile
    public var bucket: String
    public var prefix: String
    public var region: String
    public var endpoint: String
    public var pathStyle: Bool
    public var accessKeyID: String
    /// Where the credentials came from (`config`, `file /etc/...`, `env ...`).
    public var credentialSource: String
    public var secretLength: Int
    /// Human words for where whitespace sits in the secret ("a trailing newline"), nil when none.
    public var secretWhitespace: String?
    public var hasSessionToken: Bool
    public var serverSideEncryption: String?

    public init(
        vaultName: String, configPath: String, profile: ProviderProfile, bucket: String, prefix: String, region: String, endpoint: String,
        pathStyle: Bool, accessKeyID: String, credentialSource: String, secretLength: Int, secretWhitespace: String?, hasSessionToken: Bool,
        serverSideEncryption: String?
    ) {
        self.vaultName = vaultName
        self.configPath = configPath
        self.profile = profile
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.endpoint = endpoint
        self.pathStyle = pathStyle
        self.accessKeyID = accessKeyID
        self.credentialSource = credentialSource
        self.secretLength = secretLength
        self.secretWhitespace = secretWhitespace
        self.hasSessionToken = hasSessionToken
        self.serverSideEncryption = serverSideEncryption
    }

    public init(vault: ResolvedVault, configPath: String) {
        let secret = vault.credentials.secretAccessKey
        self.init(
            vaultName: vault.name, configPath: configPath, profile: vault.profile, bucket: vault.bucket, prefix: vault.prefix, region: vault.region,
            endpoint: vault.endpoint, pathStyle: vault.pathStyle, accessKeyID: vault.credentials.accessKeyID,
            credentialSource: vault.credentials.source, secretLength: secret.count, secretWhitespace: DiagnosisContext.whitespace(in: secret),
            hasSessionToken: vault.credentials.sessionToken != nil, serverSideEncryption: vault.serverSideEncryption)
    }

    /// Where a value holds whitespace, in words, without showing the value.
    public static func whitespace(in value: String) -> String? {
        let chars = Array(value.unicodeScalars)
        func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }
        guard chars.contains(where: isSpace) else { return nil }
        var places: [String] = []
        if let first = chars.first, isSpace(first) { places.append("leading whitespace") }
        if let last = chars.last, isSpace(last) {
            places.append(last == "\n" || last == "\r" ? "a trailing newline" : "trailing whitespace")
        }
        let inner = chars.dropFirst().dropLast()
        if inner.contains(where: isSpace) { places.append("whitespace inside it") }
        return places.joined(separator: " and ")
    }

    /// `[vaults.NAME] in /etc/offsite-agent/agent.toml`: where the fix goes.
    public var section: String { "[vaults.\(vaultName)] in \(configPath)" }

    /// The provider's words for the permission granting `action`, with the bucket and prefix filled in.
    public func permissionTerm(_ action: String) -> String {
        profile.terms.permission(action)
            .replacingAll("BUCKET", with: bucket)
            .replacingAll("PREFIX", with: prefix)
    }
}
