import Age
import AgentSupport
import Config
import HTTPTransport
import Logging
import Restore
import Vault

/// How every command reaches a vault: config, logging, signals, and a `VaultSession` whose
/// requests use the vault's `max_attempts` and stop on SIGINT/SIGTERM.
enum VaultAccess {
    static func open(_ global: GlobalOptions, vault: String?, quiet: Bool = false) throws -> (config: AgentConfig, vault: ResolvedVault, session: VaultSession) {
        let config = try Runtime.loadConfig(global)
        let resolved = try config.vault(named: vault)
        Output.context = "vault \(resolved.name)"
        Output.contextMetadata = ["vault": .string(resolved.name)]
        let logger = Runtime.start(config: config, quiet: quiet)
        return (config, resolved, try session(resolved, logger: logger))
    }

    /// The identities of `--identity FILE`, else of the vault's `identity_file`; nil when neither is set.
    static func identities(_ option: String?, vault: ResolvedVault) throws -> [AgeIdentity]? {
        guard let path = option ?? vault.identityFile else { return nil }
        return try RestoreDecryption.loadIdentities(path)
    }

    static func session(_ vault: ResolvedVault, logger: Logger) throws -> VaultSession {
        try VaultSession(vault: vault, http: http(), logger: logger, retryBaseDelay: Runtime.retryBaseDelay)
    }

    /// An HTTP client whose transfers stop when SIGINT or SIGTERM arrives (the one place that says so).
    static func http() -> HTTPClient {
        let http = HTTPClient()
        http.shouldCancel = { Runtime.interrupted }
        return http
    }
}
