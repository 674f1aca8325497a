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
        let vaults = try config.vaults(named: vault)
        let overrides = RunOverrides(
            partSize: partSize.flatMap(Units.parseSize), concurrency: concurrency, bandwidthLimit: bandwidthLimit.flatMap(Units.parseRate))
        let host = Runtime.hostname()
        var targets: [UploadTarget] = []
        for v in vaults { targets.append(try UploadTarget(vault: v, overrides: overrides, host: host)) }

        // Every refusal happens before anything is sent.
        let resolver = BackupResolver(backupDir: config.backupDir)
        var resolved: [Backup] = []
        if pending {
            resolved = try PendingBackups.find(resolver: resolver)
        } else {
            for argument in backups { resolved.append(try resolver.resolve(argument)) }
        }

        let logger = Runtime.start(config: config, quiet: global.json && progress)
        let journal = Journal(stateDir: config.stateDir)
        let http = HTTPClient()
        http.shouldCancel = { Runtime.interrupted }
        var outcomes: [(backup: String, vault: String, result: Result<UploadResult, AgentError>)] = []
        for backup in resolved {
            for target in targets {
                let engine = UploadEngine(target: target, journal: journal, http: http, logger: logger, retryBaseDelay: Runtime.retryBaseDelay)
                engine.agentVersion = AgentVersion.string
                let reporter = ProgressReporter(label: "\(backup.id) -> \(target.vault)", total: backup.totalBytes, logger: logger, json: global.json, jsonProgress: progress)
                engine.onProgress = { reporter.add($0) }
                http.onTick = { reporter.tick() }
                do {
                    let result = try engine.upload(backup: backup, force: force)
                    reporter.finish()
                    outcomes.append((backup.id, target.vault, .success(result)))
                } catch {
                    reporter.finish()
                    outcomes.append((backup.id, target.vault, .failure(error)))
                    if !global.json {
                        Output.diagnostic("error: \(error.code): \(error.message)")
                        Output.diagnostic("hint: \(error.hint)")
                    } else {
                        Output.diagnostic("error: \(error.code): \(error.message)\nhint: \(error.hint)")
                    }
                }
                http.onTick = nil
                if Runtime.interrupted { break }
            }
            if Runtime.interrupted { break }
        }
        report(outcomes)
        if prune && !Runtime.interrupted { PruneCommand.afterUpload(config: config, vaults: vaults, outcomes: outcomes) }
    }

    private func report(_ outcomes: [(backup: String, vault: String, result: Result<UploadResult, AgentError>)]) {
        let statuses = outcomes.map { o -> ExitStatus in
            if case .failure(let e) = o.result { return e.exitStatus }
            return .success
        }
        Output.exitStatus = ExitStatus.worst(statuses)
        if Runtime.interrupted && Output.exitStatus == .success { Output.exitStatus = .tempFail }
        if global.json {
            let documents = outcomes.map { o -> JSON in
                switch o.result {
                case .success(let r): return r.json()
                case .failure(let e): return Output.errorDocument(e, extra: [("backup", .string(o.backup)), ("vault", .string(o.vault))])
                }
            }
            if documents.count == 1 {
                Output.emit(documents[0])
            } else {
                Output.emit(.object([("ok", .bool(Output.exitStatus == .success)), ("results", .array(documents))]))
            }
            return
        }
        for o in outcomes {
            switch o.result {
            case .success(let r) where r.alreadyOffsite:
                Output.line("\(o.backup) -> \(o.vault): already complete offsite, nothing sent (use --force to upload again)")
            case .success(let r):
                Output.line("\(o.backup) -> \(o.vault): uploaded \(r.files.count) files, \(Units.formatSize(r.bytes)) in \(Units.formatDuration(r.seconds))\(r.resumed ? " (resumed)" : "")")
            case .failure(let e):
                Output.line("\(o.backup) -> \(o.vault): FAILED \(e.code)")
            }
        }
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
