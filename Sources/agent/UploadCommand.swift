import AgentSupport
import ArgumentParser
import Backups
import Config
import HTTPTransport
import Logging
import Upload

struct UploadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Upload backups to one vault or several at once.",
        discussion: "BACKUP is a backup id (a directory under backup_dir), a path to a backup directory, or a path to one archive file."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Backup ids or paths inside backup_dir.")
    var backups: [String] = []

    @Flag(name: .long, help: "Upload every completed backup not yet offsite.")
    var pending = false

    @Option(name: .long, help: "Vault to upload to (repeatable; default: default_vaults or default_vault).")
    var vault: [String] = []

    @Flag(name: .long, help: "Upload again even if the backup is already complete offsite.")
    var force = false

    @Flag(name: .long, help: "Prune past retention after a successful upload.")
    var prune = false

    @Option(name: .long, help: "Multipart part size for this run, e.g. 16MiB.")
    var partSize: String?

    @Option(name: .long, help: "Parts in flight at once for this run.")
    var concurrency: Int?

    @Option(name: .long, help: "Bandwidth limit for the whole agent for this run, e.g. 20MiB/s.")
    var bandwidthLimit: String?

    @Flag(name: .long, help: "With --json: JSON lines progress events on stderr.")
    var progress = false

    func validate() throws {
        if pending && !backups.isEmpty { throw ValidationError("give backups or --pending, not both") }
        if !pending && backups.isEmpty { throw ValidationError("name at least one backup, or use --pending") }
        if let c = concurrency, c < 1 || c > 64 { throw ValidationError("--concurrency must be between 1 and 64") }
        if let p = partSize, Units.parseSize(p) == nil { throw ValidationError("--part-size \(p) is not a size (e.g. 16MiB)") }
        if let b = bandwidthLimit, Units.parseRate(b) == nil { throw ValidationError("--bandwidth-limit \(b) is not a rate (e.g. 20MiB/s)") }
    }

    func run() throws {
        global.apply()
        let config = try Runtime.loadConfig(global)
        let pings = RunPings.monitors(config: config, vaults: vault.isEmpty ? RunPings.defaultVaultNames(config) : vault)
        let (vaults, targets, resolved): ([ResolvedVault], [UploadTarget], [Backup])
        do {
            (vaults, targets, resolved) = try prepare(config)
        } catch let error as AgentError {
            // A vault that cannot be used or a backup refused: the monitor hears of it too.
            pings.failBeforeStart(error)
            throw error
        }

        let session = UploadSession(config: config, global: global, jsonProgress: progress)
        if !resolved.isEmpty { pings.start() }
        for backup in resolved {
            if Runtime.interrupted { break }
            session.run(backup: backup, targets: targets, force: force)
        }
        session.report(emptyMessage: "no completed backup is waiting to go offsite")
        session.recordMetrics()
        if prune && !Runtime.interrupted {
            PruneCommand.afterUpload(config: config, vaults: vaults, outcomes: session.outcomes.map { ($0.backup, $0.vault, $0.result) })
        }
        if !resolved.isEmpty { RunPings.finish(pings, outcomes: session.outcomes, exitStatus: Output.exitStatus) }
    }

    /// The vaults, their upload targets and the backups to send: every refusal happens here,
    /// before anything is sent.
    private func prepare(_ config: AgentConfig) throws -> ([ResolvedVault], [UploadTarget], [Backup]) {
        let vaults = try config.vaults(named: vault)
        let overrides = RunOverrides(
            partSize: partSize.flatMap(Units.parseSize), concurrency: concurrency, bandwidthLimit: bandwidthLimit.flatMap(Units.parseRate))
        let host = Runtime.hostname()
        var targets: [UploadTarget] = []
        for v in vaults { targets.append(try UploadTarget(vault: v, overrides: overrides, host: host)) }

        let resolver = BackupResolver(backupDir: config.backupDir)
        var resolved: [Backup] = []
        if pending {
            resolved = try PendingBackups.find(resolver: resolver)
        } else {
            for argument in backups { resolved.append(try resolver.resolve(argument)) }
        }
        return (vaults, targets, resolved)
    }
}

/// `upload --pending`: every completed backup in backup_dir (refused ones are skipped quietly).
enum PendingBackups {
    static func find(resolver: BackupResolver) throws(AgentError) -> [Backup] {
        guard let names = DirectoryListing.names(in: resolver.backupDir) else {
            throw AgentError(.noDir, "the backup directory \(resolver.backupDir) does not exist", hint: "set backup_dir in the config")
        }
        var found: [Backup] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            if let backup = try? resolver.resolve(name), !backup.singleFile { found.append(backup) }
        }
        return found
    }
}
