import AgentSupport
import ArgumentParser
import Restore

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Bring an offsite copy back.",
        discussion: """
            Downloads every file of the backup's offsite manifest into DIR (default backup_dir/<BACKUP-ID>) at its relative path, \
            checks each against the manifest's SHA-256 before renaming it into place, and keeps a journal in DIR/.offsite-restore: \
            running the same command again after an interruption continues where it stopped.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup id.")
    var backupID: String

    @Option(name: .long, help: "Vault to restore from (default: default_vault).")
    var vault: String?

    @Option(name: .long, help: "Target directory (default: backup_dir/<BACKUP-ID>).")
    var to: String?

    @Flag(name: .long, help: "Restore into a target that holds other files.")
    var force = false

    @Option(name: .long, help: ArgumentHelp("age identity file that opens an encrypted backup (default: the vault's identity_file).", valueName: "file"))
    var identity: String?

    @Flag(name: .long, help: "With --json: JSON lines progress events on stderr.")
    var progress = false

    func run() throws {
        global.apply()
        let (config, resolved, session) = try VaultAccess.open(global, vault: vault, quiet: global.json && progress)
        try RestorePaths.validateBackupID(backupID)
        let target = to ?? (config.backupDir.hasSuffix("/") ? config.backupDir : config.backupDir + "/") + backupID
        let engine = RestoreEngine(session: session)
        engine.identities = try VaultAccess.identities(identity, vault: resolved)
        var reporter: ProgressReporter?
        engine.onStart = { total, already in
            reporter = ProgressReporter(
                label: "restore \(backupID) <- \(session.vault)", total: total, logger: session.logger, json: global.json, jsonProgress: progress,
                wire: { session.http.bytesReceived })
            reporter?.alreadyDone(already)
        }
        engine.onProgress = { reporter?.add($0) }
        session.http.onTick = { reporter?.tick() }
        let result: RestoreResult
        do {
            result = try engine.restore(backup: backupID, into: target, force: force)
        } catch {
            reporter?.finish()
            throw error
        }
        reporter?.finish()
        if let error = result.error { Output.exitStatus = error.exitStatus }
        if global.json {
            Output.emit(result.json())
            if let error = result.error { Output.diagnostic("error: \(error.code): \(error.message)\nhint: \(error.hint)") }
            return
        }
        if let error = result.error {
            Output.diagnostic("error: \(error.code): \(error.message)")
            Output.diagnostic("hint: \(error.hint)")
            return
        }
        let already = result.files.filter { $0.status == .already }.count
        Output.line(
            "restored backup \(backupID) from vault \(session.vault) into \(target): \(result.files.count) files, \(Units.formatSize(result.bytes)), every file checked against the manifest"
                + (result.resumed ? " (continued an interrupted restore; \(already) files were already done)" : ""))
    }
}
