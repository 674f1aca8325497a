import Age
import AgentSupport
import Config
import HTTPTransport
import Logging
import Restore

/// Opens one vault for the offsite commands (list, verify, restore, prune): config, logging,
/// signals, and a session whose requests stop on SIGINT/SIGTERM.
enum VaultAccess {
    static func open(_ global: GlobalOptions, vault: String?, quiet: Bool = false) throws -> (config: AgentConfig, vault: ResolvedVault, session: VaultSession) {
        let config = try Runtime.loadConfig(global)
        let resolved = try config.vault(named: vault)
        Output.context = "vault \(resolved.name)"
        let logger = Runtime.start(config: config, quiet: quiet)
        return (config, resolved, try session(resolved, logger: logger))
    }

    /// The identities of `--identity FILE`, else of the vault's `identity_file`; nil when neither is set.
    static func identities(_ option: String?, vault: ResolvedVault) throws -> [AgeIdentity]? {
        guard let path = option ?? vault.identityFile else { return nil }
        return try RestoreDecryption.loadIdentities(path)
    }

    static func session(_ vault: ResolvedVault, logger: Logger) throws -> VaultSession {
        let http = HTTPClient()
        http.shouldCancel = { Runtime.interrupted }
        return try VaultSession(vault: vault, http: http, logger: logger, retryBaseDelay: Runtime.retryBaseDelay)
    }
}
