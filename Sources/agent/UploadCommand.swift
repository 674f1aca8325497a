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
            session.logger.info("skipped: \(id): \(error.code) (\(error.message))")
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
            (resolved, skipped) = try PendingBackups.find(resolver: resolver)
        } else {
            for argument in backups { resolved.append(try resolver.resolve(argument)) }
        }
        return (vaults, targets, resolved, skipped)
    }
}

/// `upload --pending`: every completed backup in backup_dir. Completed means a `backup.json`
/// that says so and no `.in-progress` marker: a folder without `backup.json` may still be being
/// written (or its job died), so it is left out as NOT_COMPLETED. Each one left out is named.
enum PendingBackups {
    static func find(resolver: BackupResolver) throws(AgentError) -> (backups: [Backup], skipped: [(id: String, error: AgentError)]) {
        guard let names = DirectoryListing.names(in: resolver.backupDir) else {
            throw AgentError(.noDir, "the backup directory \(resolver.backupDir) does not exist", hint: "set backup_dir in the config")
        }
        var found: [Backup] = []
        var skipped: [(id: String, error: AgentError)] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let directory = resolver.backupDir.hasSuffix("/") ? resolver.backupDir + name : resolver.backupDir + "/" + name
            let hasManifest = access(directory + "/" + Backup.manifestName, F_OK) == 0
            do {
                let backup = try resolver.resolve(name)
                guard !backup.singleFile, hasManifest else {
                    skipped.append(
                        (name, AgentError(.notCompleted, "no \(Backup.manifestName) says it is completed (the backup job may still be writing it)", hint: "")))
                    continue
                }
                found.append(backup)
            } catch {
                skipped.append((name, error))
            }
        }
        return (found, skipped)
    }
}
