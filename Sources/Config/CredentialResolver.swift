import AgentSupport
import Credentials
import Providers
import Synchronization

/// Reads a vault's credentials from where the config says: the config itself, files,
/// environment variables, `AWS_*` for anything missing, or an AWS shared credentials profile.
/// Error messages name files and variables, never their contents.
struct CredentialResolver {
    var vault: VaultSettings
    var profile: ProviderProfile
    var environment: [String: String]

    func resolve() throws -> VaultCredentials {
        if let credentials = vault.credentials { return try resolveNamed(credentials) }

        var keyID = vault.accessKeyID.map { (value: $0, source: "config") }
        var secret = try vault.secretAccessKey.map { try read($0, key: "secret_access_key") }
        var token = try vault.sessionToken.map { try read($0, key: "session_token") }

        // AWS_* fill what the config leaves out. A session token only belongs to the key it
        // was issued with, so AWS_SESSION_TOKEN is used only with AWS_ACCESS_KEY_ID.
        if keyID == nil, let value = nonEmptyVariable("AWS_ACCESS_KEY_ID") {
            keyID = (value, "env AWS_*")
            if token == nil, let value = nonEmptyVariable("AWS_SESSION_TOKEN") { token = (value, "env AWS_*") }
        }
        if secret == nil, let value = nonEmptyVariable("AWS_SECRET_ACCESS_KEY") { secret = (value, "env AWS_*") }

        let terms = profile.terms
        guard let keyID else {
            throw fail(
                "has no access key id",
                hint:
                    "set `access_key_id` to your \(profile.displayName) \(terms.accessKey) (made in \(terms.keyConsole)), or set AWS_ACCESS_KEY_ID, or `credentials = \"profile:NAME\"`"
            )
        }
        guard let secret else {
            throw fail(
                "has no secret access key",
                hint: "set `secret_access_key_file` to a file holding your \(terms.secretKey) (or `secret_access_key_env`, or AWS_SECRET_ACCESS_KEY)")
        }
        guard !keyID.value.contains(where: \.isWhitespace) else {
            throw fail("access key id \(Redaction.accessKeyID(keyID.value)) contains white space", hint: "copy the \(terms.accessKey) again without spaces")
        }
        return VaultCredentials(
            accessKeyID: keyID.value, secretAccessKey: secret.value, sessionToken: token?.value,
            source: keyID.source == secret.source ? secret.source : "\(keyID.source) + \(secret.source)")
    }

    /// `credentials = "profile:NAME"` or `"instance"`.
    private func resolveNamed(_ credentials: String) throws -> VaultCredentials {
        if credentials.hasPrefix("profile:") {
            let name = String(credentials.dropFirst("profile:".count))
            guard !name.isEmpty else { throw fail("credentials = \"profile:\" names no profile", hint: "write `credentials = \"profile:NAME\"`") }
            return try SharedCredentialsFile.credentials(profile: name, environment: environment, context: context)
        }
        if credentials == "instance" {
            let role = Self.instanceRole(environment: environment)
            do {
                let current = try role.current()
                return VaultCredentials(
                    accessKeyID: current.accessKeyID, secretAccessKey: current.secretAccessKey, sessionToken: current.sessionToken,
                    source: "instance role", instanceRole: role)
            } catch {
                throw AgentError(.invalidConfig, "\(context): \(error.message)", hint: error.hint)
            }
        }
        throw fail("credentials = \"\(credentials)\" is not understood", hint: "write `credentials = \"profile:NAME\"` or `\"instance\"`")
    }

    /// One instance role per metadata endpoint for the whole process: every vault using it
    /// shares the cached credentials and their renewal.
    private static let instanceRoles = Mutex<[String: InstanceRoleCredentials]>([:])

    static func instanceRole(environment: [String: String]) -> InstanceRoleCredentials {
        let endpoint = InstanceMetadataClient(environment: environment).endpoint
        return instanceRoles.withLock { roles in
            if let role = roles[endpoint] { return role }
            let role = InstanceRoleCredentials(environment: environment)
            roles[endpoint] = role
            return role
        }
    }

    private func read(_ source: SecretSource, key: String) throws -> (value: String, source: String) {
        switch source {
        case .value(let value):
            return (value, "config")
        case .environment(let variable):
            guard let value = nonEmptyVariable(variable) else {
                throw fail(
                    "the environment variable \(variable) named by `\(key)_env` is not set",
                    hint: "export \(variable) in the agent's environment (systemd: Environment= or EnvironmentFile=)")
            }
            return (value, "env \(variable)")
        case .file(let path):
            let text: String
            do {
                text = try LocalFiles.readText(path)
            } catch {
                throw fail("cannot read \(key)_file \(path): \(error.reason)", hint: "make \(path) readable by the user the agent runs as (and by no one else: chmod 600)")
            }
            let value = Self.droppingOneTrailingNewline(text)
            guard !value.isEmpty else {
                throw fail("\(key)_file \(path) is empty", hint: "write the \(key == "session_token" ? "session token" : profile.terms.secretKey) into \(path)")
            }
            return (value, "file \(path)")
        }
    }

    /// Secrets are usually written with `echo`: one trailing "\n" (or "\r\n") is not part of them.
    static func droppingOneTrailingNewline(_ text: String) -> String {
        var scalars = Substring(text).unicodeScalars
        if scalars.last == "\n" {
            scalars.removeLast()
            if scalars.last == "\r" { scalars.removeLast() }
        }
        return String(scalars)
    }

    private func nonEmptyVariable(_ name: String) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }

    private var context: String { "\(vault.location("credentials")): vault `\(vault.name)`" }

    private func fail(_ message: String, hint: String) -> AgentError {
        AgentError(.invalidConfig, "\(vault.location(nil)): vault `\(vault.name)` \(message)", hint: hint)
    }
}
