import AgentSupport
import Providers

/// The agent's configuration file (SPEC 4), loaded and checked. Syntax, unknown keys, sizes and
/// durations are checked on load; a vault's provider, bucket and credentials when it is used,
/// so one broken vault does not stop the others.
public struct AgentConfig: Sendable {
    public static let defaultConfigPath = "/etc/offsite-agent/agent.toml"
    public static let defaultBackupDir = "/tmp/cloudpilot-backups"
    public static let defaultStateDir = "/var/lib/offsite-agent"

    /// The file this config was read from.
    public var path: String
    public var backupDir: String
    public var stateDir: String
    public var defaultVault: String?
    public var defaultVaults: [String]
    public var providersDir: String?
    public var metricsFile: String?
    /// `log_format`: how `state_dir/agent.log` is written, `text` (default) or `json`.
    public var logFormat: LogFormat = .text
    /// Top-level `ping_url`: the monitor every vault without its own `ping_url` reports to.
    public var pingURL: String?
    /// Shipped profiles plus `providers_dir` (or /etc/offsite-agent/providers.d).
    public var catalog: ProviderCatalog
    /// Every vault, in file order.
    public var vaultNames: [String]

    var vaultSettings: [String: VaultSettings]
    var environment: [String: String]
    /// `file:line` of top-level keys, for messages about defaults.
    var locations: [String: String]

    /// `$OFFSITE_AGENT_CONFIG`, else /etc/offsite-agent/agent.toml.
    public static func defaultPath(environment: [String: String]) -> String {
        if let path = environment["OFFSITE_AGENT_CONFIG"], !path.isEmpty { return path }
        return defaultConfigPath
    }

    static let topLevelKeys: Set<String> = Set([
        "backup_dir", "state_dir", "default_vault", "default_vaults", "providers_dir", "metrics_file", "vaults", "ping_url",
        "log_format",
    ]).union(VaultSettings.inheritableKeys)

    /// Reads the config at `path` (nil: `defaultPath`). `MISSING_CONFIG` when there is no file;
    /// `INVALID_CONFIG` for malformed TOML (file:line), unknown keys, bad values.
    public static func load(path: String?, environment: [String: String]) throws -> AgentConfig {
        let path = path ?? defaultPath(environment: environment)
        let text: String
        do {
            text = try LocalFiles.readText(path)
        } catch  where error.isMissing {
            throw AgentError(
                .missingConfig, "no config file at \(path)",
                hint: "create it (see samples/agent.toml), or pass --config PATH or set OFFSITE_AGENT_CONFIG")
        } catch {
            throw AgentError(.invalidConfig, "cannot read config file \(path): \(error.reason)", hint: "make it readable by the user the agent runs as")
        }

        let root = try TOMLSection.parse(text, file: path)
        try root.rejectUnknownKeys(allowed: topLevelKeys, hint: "remove it or correct its spelling; the settings are listed in samples/agent.toml")
        var locations: [String: String] = [:]
        for key in root.keys { locations[key] = root.location(key) }

        let providersDir = try nonEmpty(root, "providers_dir")
        let catalog = try ProviderCatalog.load(overrideDirectory: providersDir)
        let defaultVaults = try root.stringArray("default_vaults") ?? []
        if let empty = defaultVaults.first(where: \.isEmpty) {
            throw root.error("default_vaults", "holds an empty name \"\(empty)\"", hint: "list vault names, e.g. [\"primary\", \"offsite-2\"]")
        }

        // Top-level defaults, checked as strictly as in a vault.
        var defaults = VaultSettings(name: "", locations: locations)
        try defaults.readInheritable(root)

        var vaultSettings: [String: VaultSettings] = [:]
        var vaultNames: [String] = []
        let settingNames = Set(catalog.profiles.flatMap(\.requiredSettings))
        if let vaults = try root.section("vaults") {
            for name in vaults.keys {
                guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                    throw vaults.error(name, "is not a usable vault name", hint: "use letters, digits, '-', '_' or '.', e.g. [vaults.primary]")
                }
                guard let table = try vaults.section(name) else { continue }
                var settings = try VaultSettings(name: name, table: table, settingNames: settingNames)
                settings.inherit(from: defaults)
                vaultSettings[name] = settings
                vaultNames.append(name)
            }
        }

        var config = AgentConfig(
            path: path,
            backupDir: try nonEmpty(root, "backup_dir") ?? defaultBackupDir,
            stateDir: try nonEmpty(root, "state_dir") ?? defaultStateDir,
            defaultVault: try nonEmpty(root, "default_vault"),
            defaultVaults: defaultVaults,
            providersDir: providersDir,
            metricsFile: try nonEmpty(root, "metrics_file"),
            pingURL: try pingURLSetting(root, "ping_url"),
            catalog: catalog,
            vaultNames: vaultNames,
            vaultSettings: vaultSettings,
            environment: environment,
            locations: locations)
        config.logFormat = try logFormatSetting(root)
        return config
    }

    /// `log_format = "text" | "json"`.
    static func logFormatSetting(_ root: TOMLSection) throws -> LogFormat {
        guard let value = try root.string("log_format") else { return .text }
        guard let format = LogFormat(rawValue: value) else {
            throw root.error("log_format", "is \"\(value)\"; it takes \"text\" or \"json\"", hint: "set log_format = \"text\" (the default) or \"json\" (one JSON object per line in agent.log)")
        }
        return format
    }

    /// The ping URL for runs against vault `name`: its own `ping_url`, else the top-level one.
    /// Read without resolving the vault, so a vault that cannot be used can still report failure.
    public func pingURL(forVault name: String) -> String? {
        vaultSettings[name]?.pingURL ?? pingURL
    }

    /// The vault called `name`, resolved; nil means `default_vault` (else the first of
    /// `default_vaults`). `MISSING_CONFIG` when no vault is named and no default is set;
    /// `INVALID_CONFIG` when the vault is unknown or cannot be used as configured.
    public func vault(named name: String?) throws -> ResolvedVault {
        if let name { return try resolve(name, namedBy: nil) }
        if let defaultVault { return try resolve(defaultVault, namedBy: "default_vault") }
        if let first = defaultVaults.first { return try resolve(first, namedBy: "default_vaults") }
        throw noVaultNamed()
    }

    /// The vaults called `names`, resolved, duplicates dropped; `[]` means `default_vaults`,
    /// else `default_vault`.
    public func vaults(named names: [String]) throws -> [ResolvedVault] {
        var seen: Set<String> = []
        if !names.isEmpty {
            return try names.filter { seen.insert($0).inserted }.map { try resolve($0, namedBy: nil) }
        }
        if !defaultVaults.isEmpty {
            return try defaultVaults.filter { seen.insert($0).inserted }.map { try resolve($0, namedBy: "default_vaults") }
        }
        if let defaultVault { return [try resolve(defaultVault, namedBy: "default_vault")] }
        throw noVaultNamed()
    }

    /// `INVALID_CONFIG` when `default_vault` or an entry of `default_vaults` names no vault.
    /// Loading does not check this (it only matters when the default is used); `config check` does.
    public func validateDefaults() throws {
        if let defaultVault, vaultSettings[defaultVault] == nil { throw unknownVault(defaultVault, namedBy: "default_vault") }
        for name in defaultVaults where vaultSettings[name] == nil { throw unknownVault(name, namedBy: "default_vaults") }
    }

    private func noVaultNamed() -> AgentError {
        if vaultNames.isEmpty {
            return AgentError(.missingConfig, "\(path) defines no vaults", hint: "add a [vaults.NAME] table (see samples/agent.toml)")
        }
        return AgentError(
            .missingConfig, "no vault named, and \(path) sets neither default_vault nor default_vaults",
            hint: "pass --vault NAME (one of \(vaultNames.joined(separator: ", "))) or set `default_vault = \"\(vaultNames[0])\"` in \(path)")
    }

    func unknownVault(_ name: String, namedBy setting: String?) -> AgentError {
        let known = vaultNames.isEmpty ? "it defines no vaults" : "its vaults are \(vaultNames.joined(separator: ", "))"
        if let setting {
            return AgentError(
                .invalidConfig, "\(locations[setting] ?? path): \(setting) names vault `\(name)`, but \(path) has no [vaults.\(name)]; \(known)",
                hint: "correct `\(setting)` or add a [vaults.\(name)] table")
        }
        return AgentError(.invalidConfig, "no vault named `\(name)` in \(path); \(known)", hint: "use one of the configured vault names, or add a [vaults.\(name)] table")
    }
}
