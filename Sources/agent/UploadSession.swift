import AgentSupport
import Backups
import Config
import HTTPTransport
import Logging
import Synchronization
import Upload
import Vault

/// Runs uploads (fresh or resumed) one after another on one HTTP client and reports them:
/// the shared path of `upload` and `resume`.
final class UploadSession {
    typealias Outcome = (backup: String, vault: String, result: Result<UploadResult, AgentError>, retries: Int, stalls: Int)

    let config: AgentConfig
    let global: GlobalOptions
    let logger: Logger
    let journal: Journal
    let http = VaultAccess.http()
    let jsonProgress: Bool
    private(set) var outcomes: [Outcome] = []

    init(config: AgentConfig, global: GlobalOptions, jsonProgress: Bool) {
        self.config = config
        self.global = global
        self.jsonProgress = jsonProgress
        logger = Runtime.start(config: config, quiet: global.json && jsonProgress)
        journal = Journal(stateDir: config.stateDir)
        // Completed entries are kept 30 days for `status` and then pruned.
        journal.prune(olderThan: 30 * 86400, now: Timestamp.now())
    }

    /// Uploads one backup to one vault, recording the outcome (never throws).
    func run(backup: Backup, target: UploadTarget, force: Bool) {
        let engine = UploadEngine(target: target, journal: journal, http: http, logger: logger, retryBaseDelay: Runtime.retryBaseDelay)
        engine.agentVersion = AgentVersion.string
        let http = self.http
        let reporter = ProgressReporter(
            label: "\(backup.id) -> \(target.vault)", total: backup.totalBytes, logger: logger, json: global.json, jsonProgress: jsonProgress,
            wire: { [sentBefore = http.bytesSent] in http.bytesSent - sentBefore }, inFlight: { http.inFlightBytesSent })
        engine.onProgress = { reporter.add($0) }
        engine.onAlreadyHeld = { reporter.alreadyDone($0) }
        http.onTick = { reporter.tick() }
        defer {
            reporter.finish()
            http.onTick = nil
        }
        do {
            let result = try engine.upload(backup: backup, force: force)
            outcomes.append((backup.id, target.vault, .success(result), engine.retries, engine.stalls))
        } catch {
            record(failure: error, backup: backup.id, vault: target.vault, retries: engine.retries, stalls: engine.stalls)
        }
    }

    /// Uploads one backup to several vaults at once (SPEC 5.1): a thread per vault with its own
    /// transfers, retries and journal entry; each region of a file is read and hashed once for
    /// all of them. One vault failing or stalling never holds up the others.
    func run(backup: Backup, targets: [UploadTarget], force: Bool) {
        guard targets.count > 1 else {
            if let only = targets.first { run(backup: backup, target: only, force: force) }
            return
        }
        let cache = DigestCache(always: targets.reduce(DigestKinds()) { $0.union($1.payloadDigests) })
        let shared = UploadTarget.sharingParts(targets)
        let results = ResultBox(count: shared.count)
        var workers: [WorkerThread] = []
        for (index, t) in shared.enumerated() {
            var target = t
            // The agent-wide bandwidth limit is shared by every vault.
            if target.bandwidthLimit > 0 { target.bandwidthLimit = max(1, target.bandwidthLimit / Int64(shared.count)) }
            target.bandwidthTimetable = target.bandwidthTimetable?.divided(by: shared.count)
            let logger = self.logger
            let journal = self.journal
            let global = self.global
            let jsonProgress = self.jsonProgress
            let worker = WorkerThread {
                let http = VaultAccess.http()
                let engine = UploadEngine(target: target, journal: journal, http: http, logger: logger, retryBaseDelay: Runtime.retryBaseDelay)
                engine.agentVersion = AgentVersion.string
                engine.digestCache = cache
                let reporter = ProgressReporter(
                    label: "\(backup.id) -> \(target.vault)", total: backup.totalBytes, logger: logger, json: global.json, jsonProgress: jsonProgress,
                    shareTerminal: true, wire: { http.bytesSent }, inFlight: { http.inFlightBytesSent })
                engine.onProgress = { reporter.add($0) }
                engine.onAlreadyHeld = { reporter.alreadyDone($0) }
                http.onTick = { reporter.tick() }
                do throws(AgentError) {
                    results.set(index, .success(try engine.upload(backup: backup, force: force)), retries: engine.retries, stalls: engine.stalls)
                } catch {
                    results.set(index, .failure(error), retries: engine.retries, stalls: engine.stalls)
                }
                reporter.finish()
            }
            worker.start()
            workers.append(worker)
        }
        for w in workers { w.join() }
        for (index, target) in shared.enumerated() {
            let (result, retries, stalls) = results.get(index)
            switch result {
            case .success(let r): outcomes.append((backup.id, target.vault, .success(r), retries, stalls))
            case .failure(let e): record(failure: e, backup: backup.id, vault: target.vault, retries: retries, stalls: stalls)
            case nil: record(failure: AgentError(.interrupted, "the upload thread ended without a result", hint: "run `agent resume --all`", exit: .tempFail), backup: backup.id, vault: target.vault)
            }
        }
    }

    /// Records a failure that happened before an engine ran (a vanished backup, a bad vault).
    func record(failure error: AgentError, backup: String, vault: String, retries: Int = 0, stalls: Int = 0) {
        outcomes.append((backup, vault, .failure(error), retries, stalls))
        Output.diagnostic("error: \(error.code): \(backup) -> \(vault): \(error.message)")
        Output.diagnostic("hint: \(error.hint)")
        Output.logFailure(error, context: "backup \(backup), vault \(vault)", metadata: ["backup": .string(backup), "vault": .string(vault)])
    }

    /// Updates the Prometheus textfile (`metrics_file`), when the config names one.
    func recordMetrics() {
        RunMetrics.record(config: config, logger: logger, outcomes: outcomes.map { ($0.vault, $0.result, $0.retries, $0.stalls) })
    }

    /// Prints the results and sets the exit status: the most serious outcome (1, then 5, then 75).
    /// `unreadable`: journal files this run could not take up (said on stderr already); they fail
    /// the run too and are listed under `journal_errors` with `--json`.
    func report(emptyMessage: String, unreadable: [AgentError] = []) {
        let statuses = outcomes.map { o -> ExitStatus in
            if case .failure(let e) = o.result { return e.exitStatus }
            return .success
        }
        Output.exitStatus = ExitStatus.worst(statuses + unreadable.map(\.exitStatus))
        if Runtime.interrupted && Output.exitStatus == .success { Output.exitStatus = .tempFail }
        if global.json {
            let documents = outcomes.map { o -> JSON in
                switch o.result {
                case .success(let r): return r.json()
                case .failure(let e): return Output.errorDocument(e, extra: [("backup", .string(o.backup)), ("vault", .string(o.vault))])
                }
            }
            if documents.count == 1 && unreadable.isEmpty {
                Output.emit(documents[0])
            } else {
                var fields: [(String, JSON)] = [("ok", .bool(Output.exitStatus == .success)), ("results", .array(documents))]
                if !unreadable.isEmpty { fields.append(("journal_errors", .array(unreadable.map { Output.errorDocument($0) }))) }
                Output.emit(.object(fields))
            }
            return
        }
        if outcomes.isEmpty && unreadable.isEmpty { Output.result(emptyMessage) }
        for o in outcomes {
            switch o.result {
            case .success(let r) where r.alreadyOffsite:
                Output.result("\(o.backup) -> \(o.vault): already complete offsite, nothing sent (use --force to upload again)")
            case .success(let r) where r.resumed:
                // What this run sent, not the whole backup: an earlier run sent the rest.
                Output.result(
                    "\(o.backup) -> \(o.vault): resumed and completed \(r.files.count) files (\(Units.formatSize(r.bytes))); this run sent \(Units.formatSize(r.bytesSent)) in \(Units.formatDuration(r.seconds)) (\(Units.formatSize(r.seconds > 0 ? Int64(Double(r.bytesSent) / r.seconds) : 0))/s)")
            case .success(let r):
                Output.result("\(o.backup) -> \(o.vault): uploaded \(r.files.count) files, \(Units.formatSize(r.bytes)) in \(Units.formatDuration(r.seconds))")
            case .failure(let e):
                // The error and its hint were said on stderr; stdout keeps the one-line result.
                Output.line("\(o.backup) -> \(o.vault): FAILED \(e.code)")
            }
        }
    }
}

/// Per-vault results written by worker threads, read after they are joined.
final class ResultBox: @unchecked Sendable {
    private var slots: [(Result<UploadResult, AgentError>?, Int, Int)]
    private let lock = Mutex(())

    init(count: Int) { slots = Array(repeating: (nil, 0, 0), count: count) }

    func set(_ index: Int, _ value: Result<UploadResult, AgentError>, retries: Int, stalls: Int) {
        lock.withLock { _ in slots[index] = (value, retries, stalls) }
    }

    func get(_ index: Int) -> (Result<UploadResult, AgentError>?, Int, Int) {
        lock.withLock { _ in slots[index] }
    }
}
