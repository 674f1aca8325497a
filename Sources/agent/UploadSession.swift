import AgentSupport
import Backups
import Config
import HTTPTransport
import Logging
import Upload

/// Runs uploads (fresh or resumed) one after another on one HTTP client and reports them:
/// the shared path of `upload` and `resume`.
final class UploadSession {
    typealias Outcome = (backup: String, vault: String, result: Result<UploadResult, AgentError>)

    let config: AgentConfig
    let global: GlobalOptions
    let logger: Logger
    let journal: Journal
    let http = HTTPClient()
    let jsonProgress: Bool
    private(set) var outcomes: [Outcome] = []

    init(config: AgentConfig, global: GlobalOptions, jsonProgress: Bool) {
        self.config = config
        self.global = global
        self.jsonProgress = jsonProgress
        logger = Runtime.start(config: config, quiet: global.json && jsonProgress)
        journal = Journal(stateDir: config.stateDir)
        http.shouldCancel = { Runtime.interrupted }
        // Completed entries are kept 30 days for `status` and then pruned.
        journal.prune(olderThan: 30 * 86400, now: Timestamp.now())
    }

    /// Uploads one backup to one vault, recording the outcome (never throws).
    func run(backup: Backup, target: UploadTarget, force: Bool) {
        let engine = UploadEngine(target: target, journal: journal, http: http, logger: logger, retryBaseDelay: Runtime.retryBaseDelay)
        engine.agentVersion = AgentVersion.string
        let reporter = ProgressReporter(label: "\(backup.id) -> \(target.vault)", total: backup.totalBytes, logger: logger, json: global.json, jsonProgress: jsonProgress)
        engine.onProgress = { reporter.add($0) }
        http.onTick = { reporter.tick() }
        defer {
            reporter.finish()
            http.onTick = nil
        }
        do {
            outcomes.append((backup.id, target.vault, .success(try engine.upload(backup: backup, force: force))))
        } catch {
            record(failure: error, backup: backup.id, vault: target.vault)
        }
    }

    /// Records a failure that happened before an engine ran (a vanished backup, a bad vault).
    func record(failure error: AgentError, backup: String, vault: String) {
        outcomes.append((backup, vault, .failure(error)))
        Output.diagnostic("error: \(error.code): \(backup) -> \(vault): \(error.message)")
        Output.diagnostic("hint: \(error.hint)")
    }

    /// Prints the results and sets the exit status: the most serious outcome (1, then 5, then 75).
    func report(emptyMessage: String) {
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
        if outcomes.isEmpty { Output.line(emptyMessage) }
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
