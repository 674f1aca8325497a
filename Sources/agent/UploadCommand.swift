import AgentSupport
import ArgumentParser
import Backups
import Config
import HTTPTransport
import Logging
import Upload

#if canImport(Glibc)
    import Glibc
#endif

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

    @OptionGroup var limits: TransferFlags

    @Flag(name: .long, help: "With --json: JSON lines progress events on stderr.")
    var progress = false

    func validate() throws {
        if pending && !backups.isEmpty { throw ValidationError("give backups or --pending, not both") }
        if !pending && backups.isEmpty { throw ValidationError("name at least one backup, or use --pending") }
    }

    func run() throws {
        global.apply()
        let config = try Runtime.loadConfig(global)
        let pings = RunPings.monitors(config: config, vaults: vault.isEmpty ? RunPings.defaultVaultNames(config) : vault)
        let (vaults, targets, resolved, skipped): ([ResolvedVault], [UploadTarget], [Backup], [(id: String, error: AgentError)])
        do {
            (vaults, targets, resolved, skipped) = try prepare(config)
        } catch let error as AgentError {
            // A vault that cannot be used or a backup refused: the monitor hears of it too.
            pings.failBeforeStart(error)
            throw error
        }

        let session = UploadSession(config: config, global: global, jsonProgress: progress)
        for (id, error) in skipped {
            session.logger.info("skipped: \(id): \(error.code) (\(error.message))", metadata: ["backup": .string(id), "code": .string(error.code.rawValue)])
        }
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
    private func prepare(_ config: AgentConfig) throws -> ([ResolvedVault], [UploadTarget], [Backup], [(id: String, error: AgentError)]) {
        let vaults = try config.vaults(named: vault)
        try limits.check(against: vaults)
        let overrides = limits.overrides
        let host = Runtime.hostname()
        var targets: [UploadTarget] = []
        for v in vaults { targets.append(try UploadTarget(vault: v, overrides: overrides, host: host)) }

        let resolver = BackupResolver(backupDir: config.backupDir)
        var resolved: [Backup] = []
        var skipped: [(id: String, error: AgentError)] = []
        if pending {
            (resolved, skipped) = try resolver.pendingBackups()
        } else {
            for argument in backups { resolved.append(try resolver.resolve(argument)) }
        }
        return (vaults, targets, resolved, skipped)
    }
}
