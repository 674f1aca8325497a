import AgentSupport
import ArgumentParser
import Upload
import Config

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with the configuration.",
        subcommands: [ConfigCheckCommand.self]
    )
}

struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the config and print each vault's resolved endpoint, region and addressing, secrets redacted.",
        discussion: "Exits 3 when the config or any vault in it cannot be used."
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let config = try AgentConfig.load(path: global.config, environment: ProcessEnvironment.current())

        var problems: [AgentError] = []
        var vaults: [JSON] = []
        var text: [String] = ["config \(config.path)", "  backup_dir  \(config.backupDir)", "  state_dir   \(config.stateDir)"]
        do { try config.validateDefaults() } catch let error as AgentError { problems.append(error) }
        if config.vaultNames.isEmpty {
            problems.append(AgentError(.missingConfig, "\(config.path) defines no vaults", hint: "add a [vaults.NAME] table (see samples/agent.toml)"))
        }

        for name in config.vaultNames {
            let isDefault = name == config.defaultVault || config.defaultVaults.contains(name)
            do {
                let v = try config.vault(named: name)
                let addressing = v.pathStyle ? "path" : "virtual"
                text.append("")
                text.append("vault \(name)\(isDefault ? " (default)" : "")")
                text.append(
                    TextTable(
                        header: ["  provider", "\(v.profile.name) (\(v.profile.displayName))"],
                        rows: [
                            ["  bucket", v.bucket],
                            ["  endpoint", v.endpoint],
                            ["  region", v.region],
                            ["  addressing", addressing],
                            ["  prefix", v.prefix.isEmpty ? "(none)" : v.prefix],
                            ["  credentials", v.credentials.source],
                            ["  access key", v.credentials.redactedAccessKeyID],
                            ["  part size", Self.partSizeText(v)],
                            ["  multipart above", Units.formatSize(v.multipartThreshold ?? v.profile.multipart.multipartThreshold)],
                            ["  concurrency", String(v.concurrency)],
                            ["  bandwidth", Self.bandwidth(v)],
                            ["  ping_url", v.pingURL.map(Redaction.url) ?? "(none)"],
                        ] + Self.encryptionRows(v)
                            + [["  object lock", v.objectLock.map { "\($0.mode.rawValue), \($0.days) days" } ?? "none (objects can be deleted at once)"]]
                    ).rendered())
                vaults.append(
                    .object([
                        ("name", .string(name)), ("ok", .bool(true)), ("default", .bool(isDefault)),
                        ("provider", .string(v.profile.name)), ("bucket", .string(v.bucket)),
                        ("endpoint", .string(v.endpoint)), ("region", .string(v.region)),
                        ("addressing", .string(addressing)), ("prefix", .string(v.prefix)),
                        ("credentials", .string(v.credentials.source)),
                        ("access_key_id", .string(v.credentials.redactedAccessKeyID)),
                        ("part_size", v.partSize.map { .int($0) } ?? .null),
                        ("multipart_threshold", .int(v.multipartThreshold ?? v.profile.multipart.multipartThreshold)),
                        ("concurrency", .int(Int64(v.concurrency))),
                        ("bandwidth_limit", .string(Self.bandwidth(v))),
                        ("ping_url", v.pingURL.map { .string(Redaction.url($0)) } ?? .null),
                        ("encryption", v.encrypts ? .string("age") : .null),
                        ("recipients", .array(v.recipients.map { .string($0.encoded) })),
                        ("identity_file", v.identityFile.map { .string($0) } ?? .null),
                        (
                            "object_lock",
                            v.objectLock.map { .object([("mode", .string($0.mode.rawValue)), ("days", .int(Int64($0.days)))]) } ?? .null
                        ),
                    ]))
            } catch let error as AgentError {
                problems.append(error)
                text.append("")
                text.append("vault \(name): \(error.code): \(error.message)")
                vaults.append(.object([("name", .string(name)), ("ok", .bool(false)), ("error", Self.json(error))]))
            }
        }

        let warnings = config.securityWarnings()
        if global.json {
            var fields: [(String, JSON)] = [("ok", .bool(problems.isEmpty)), ("config", .string(config.path))]
            if let first = problems.first { fields.append(("error", Self.json(first))) }
            fields.append(("problems", .array(problems.map(Self.json))))
            fields.append(
                ("warnings", .array(warnings.map { .object([("code", .string($0.code.rawValue)), ("message", .string($0.message)), ("hint", .string($0.hint))]) })))
            fields.append(("vaults", .array(vaults)))
            Output.emit(.object(fields))
        } else {
            text.append("")
            text.append(problems.isEmpty ? "config OK: \(config.vaultNames.count) vault(s)" : "config has \(problems.count) problem(s)")
            Output.line(text.joined(separator: "\n"))
        }
        for warning in warnings {
            Output.diagnostic("warning: \(warning.code): \(warning.message)")
            Output.diagnostic("hint: \(warning.hint)")
        }
        for problem in problems {
            Output.diagnostic("error: \(problem.code): \(problem.message)")
            Output.diagnostic("hint: \(problem.hint)")
        }
        if !problems.isEmpty { Output.exitStatus = .config }
    }

    /// The part size uploads use: the configured one, else chosen per file within the provider's limits.
    static func partSizeText(_ v: ResolvedVault) -> String {
        if let size = v.partSize { return Units.formatSize(size) }
        let limits = v.profile.multipart
        return "chosen per file (at least \(Units.formatSize(max(limits.minPartSize, PartPlan.defaultPartSize))), at most \(limits.maxParts) parts)"
    }

    /// The bandwidth limit as parsed: "unlimited", "20.0 MiB/s", or the timetable's entries.
    static func bandwidth(_ v: ResolvedVault) -> String {
        if let table = v.bandwidthTimetable { return "timetable: \(table.description)" }
        if let limit = v.bandwidthLimit, limit > 0 { return BandwidthTimetable.format(limit) }
        return "unlimited"
    }

    /// The vault's encryption: its recipients (public keys only) and where its identity is read from.
    static func encryptionRows(_ v: ResolvedVault) -> [[String]] {
        guard v.encrypts else { return [["  encryption", "none (stored as sent)"]] }
        var rows = [["  encryption", "age, \(v.recipients.count) recipient(s)"]]
        for r in v.recipients { rows.append(["  recipient", r.encoded]) }
        if let id = v.identityFile { rows.append(["  identity_file", id]) }
        return rows
    }

    static func json(_ error: AgentError) -> JSON {
        .object([("code", .string(error.code.rawValue)), ("message", .string(error.message)), ("hint", .string(error.hint))])
    }
}
