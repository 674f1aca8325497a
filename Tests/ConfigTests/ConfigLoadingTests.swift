import AgentSupport
import Config
import Foundation
import Providers
import TestSupport
import Testing

/// What `AgentConfig.load` checks: the file, its syntax, its keys and its values.
struct ConfigLoadingTests {
    @Test func defaultPathComesFromTheEnvironment() {
        #expect(AgentConfig.defaultPath(environment: [:]) == "/etc/offsite-agent/agent.toml")
        #expect(AgentConfig.defaultPath(environment: ["OFFSITE_AGENT_CONFIG": "/tmp/a.toml"]) == "/tmp/a.toml")
    }

    @Test func missingFileIsMissingConfig() throws {
        let dir = try TemporaryDirectory()
        let error = agentError { _ = try AgentConfig.load(path: dir.path + "/nope.toml", environment: [:]) }
        #expect(error?.code == .missingConfig)
        #expect(error?.message.contains(dir.path + "/nope.toml") == true)
        #expect(error?.exitStatus == .config)
    }

    @Test func missingFileFromEnvironmentIsMissingConfig() throws {
        let dir = try TemporaryDirectory()
        let error = agentError { _ = try AgentConfig.load(path: nil, environment: ["OFFSITE_AGENT_CONFIG": dir.path + "/x.toml"]) }
        #expect(error?.code == .missingConfig)
        #expect(error?.message.contains(dir.path + "/x.toml") == true)
    }

    @Test func malformedTOMLNamesFileAndLine() throws {
        let fixture = try ConfigFixture("backup_dir = \"/srv\"\n\n[vaults.primary]\nbucket = \"unterminated\n")
        let error = agentError { _ = try fixture.load() }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("\(fixture.path):4") == true, "\(error?.message ?? "")")
        // The typed parse error travels as the cause: matched on its fields, not on the words.
        let cause = error?.cause as? TOMLParseError
        #expect(cause?.line == 4)
        if case .syntax = cause?.reason {} else { Issue.record("cause: \(String(describing: cause))") }
    }

    @Test func unknownTopLevelKeyIsNamedWithItsLine() throws {
        let fixture = try ConfigFixture("defualt_vault = \"primary\"\n" + r2Vault)
        let error = agentError { _ = try fixture.load() }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("\(fixture.path):1") == true)
        #expect(error?.message.contains("defualt_vault") == true)
    }

    @Test func unknownVaultKeyIsNamedWithItsLine() throws {
        let fixture = try ConfigFixture(r2Vault + "\nbucekt = \"x\"\n")
        let error = agentError { _ = try fixture.load() }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("vaults.primary.bucekt") == true)
        #expect(error?.message.contains("\(fixture.path):\(try fixture.line(of: "bucekt"))") == true)
    }

    @Test(arguments: [
        ("part_size = \"16 potatoes\"", "part_size"),
        ("bandwidth_limit = \"fast\"", "bandwidth_limit"),
        ("stall_min_rate = \"-1KiB/s\"", "stall_min_rate"),
        ("part_size = 0", "part_size"),
    ])
    func badSizeIsNamed(line: String, key: String) throws {
        let fixture = try ConfigFixture(r2Vault + "\n" + line + "\n")
        let error = agentError { _ = try fixture.load() }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("vaults.primary.\(key)") == true)
        #expect(error?.message.contains(":\(try fixture.line(of: line)):") == true)
    }

    @Test(arguments: ["stall_timeout = \"soon\"", "connect_timeout = \"10 parsecs\"", "stall_timeout = \"0s\""])
    func badDurationIsNamed(line: String) throws {
        let fixture = try ConfigFixture(r2Vault + "\n" + line + "\n")
        let error = agentError { _ = try fixture.load() }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains(String(line.prefix { $0 != " " })) == true)
    }

    @Test func badTopLevelDefaultIsNamed() throws {
        let fixture = try ConfigFixture("stall_timeout = \"forever\"\n" + r2Vault)
        let error = agentError { _ = try fixture.load() }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("\(fixture.path):1: `stall_timeout`") == true)
    }

    @Test func wrongTypeIsNamed() throws {
        let fixture = try ConfigFixture(r2Vault + "\nconcurrency = \"four\"\n")
        let error = agentError { _ = try fixture.load() }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("concurrency") == true && error?.message.contains("integer") == true)
    }

    @Test func twoSecretSourcesAreRejected() throws {
        let fixture = try ConfigFixture(r2Vault + "\nsecret_access_key_file = \"/x\"\n")
        let error = agentError { _ = try fixture.load() }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("secret_access_key_file") == true)
    }

    @Test func settingsHaveTheirDefaults() throws {
        let config = try ConfigFixture(r2Vault).load()
        #expect(config.backupDir == "/tmp/cloudpilot-backups")
        #expect(config.stateDir == "/var/lib/offsite-agent")
        #expect(config.defaultVault == nil && config.defaultVaults.isEmpty && config.providersDir == nil)
        let vault = try config.vault(named: "primary")
        #expect(vault.concurrency == 4 && vault.partSize == nil && vault.bandwidthLimit == nil)
        #expect(vault.connectTimeout == 10 && vault.stallTimeout == 30 && vault.stallMinRate == 1024 && vault.maxAttempts == 5)
        #expect(vault.keepDays == nil && vault.keepLast == nil && vault.storageClass == nil && vault.caFile == nil)
    }

    @Test func vaultNamesAreInFileOrder() throws {
        let vault = { (name: String) in "[vaults.\(name)]\nprovider = \"aws\"\nbucket = \"b\"\n" }
        let config = try ConfigFixture(vault("zulu") + vault("alpha") + vault("mike")).load()
        #expect(config.vaultNames == ["zulu", "alpha", "mike"])
    }

    @Test func topLevelDefaultsApplyUnlessTheVaultSetsThem() throws {
        let fixture = try ConfigFixture(
            """
            part_size = "16MiB"
            concurrency = 8
            bandwidth_limit = "20MiB/s"
            stall_timeout = "1m"
            stall_min_rate = "2KiB/s"
            \(r2Vault)
            concurrency = 2
            connect_timeout = "500ms"
            max_attempts = 7
            keep_days = 30
            keep_last = 3
            storage_class = "STANDARD_IA"
            server_side_encryption = "AES256"
            """)
        let vault = try fixture.load().vault(named: "primary")
        #expect(vault.partSize == 16 << 20)
        #expect(vault.concurrency == 2)
        #expect(vault.bandwidthLimit == 20 << 20)
        #expect(vault.stallTimeout == 60)
        #expect(vault.stallMinRate == 2048)
        #expect(vault.connectTimeout == 0.5)
        #expect(vault.maxAttempts == 7 && vault.keepDays == 30 && vault.keepLast == 3)
        #expect(vault.storageClass == "STANDARD_IA" && vault.serverSideEncryption == "AES256")
    }

    @Test func providersDirOverridesABuiltInProfile() throws {
        let fixture = try ConfigFixture("")
        let providers = fixture.dir.path + "/providers.d"
        try FileManager.default.createDirectory(atPath: providers, withIntermediateDirectories: false)
        let r2 = try String(contentsOfFile: ConfigFixture.repositoryRoot + "/providers/r2.toml", encoding: .utf8)
            .replacingOccurrences(of: #"display_name = "Cloudflare R2""#, with: #"display_name = "Our R2""#)
        try r2.write(toFile: providers + "/r2.toml", atomically: true, encoding: .utf8)
        try ("providers_dir = \"\(providers)\"\n" + r2Vault).write(toFile: fixture.path, atomically: true, encoding: .utf8)
        let config = try fixture.load()
        #expect(config.providersDir == providers)
        #expect(try config.vault(named: "primary").profile.displayName == "Our R2")
        #expect(try config.vault(named: "primary").profile.source == providers + "/r2.toml")
    }

    @Test func missingProvidersDirIsInvalid() throws {
        let error = agentError { _ = try ConfigFixture("providers_dir = \"/nonexistent/p.d\"\n").load() }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("/nonexistent/p.d") == true)
    }
}

extension ConfigFixture {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}
