import AgentSupport
import ArgumentParser
import Upload
import Vault

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Finish interrupted uploads from the journal.",
        discussion: "Reconciles each unfinished upload with the server (ListParts), sends only what is missing, completes and verifies it."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Resume every unfinished upload.")
    var all = false

    @Argument(help: "The upload id to resume (see `agent status`).")
    var uploadID: String?

    @Flag(name: .long, help: "With --json: JSON lines progress events on stderr.")
    var progress = false

    @Option(name: .long, help: "Bandwidth limit for the whole agent for this run, e.g. 20MiB/s (default: what the upload was started with, else the vault's).")
    var bandwidthLimit: String?

    @Option(name: .long, help: "Parts in flight at once for this run, 1...64 (default: what the upload was started with, else the vault's).")
    var concurrency: Int?

    func validate() throws {
        if all && uploadID != nil { throw ValidationError("give an upload id or --all, not both") }
        if !all && uploadID == nil { throw ValidationError("give an upload id or --all") }
        try TransferFlags.check(concurrency: concurrency)
        try TransferFlags.check(bandwidthLimit: bandwidthLimit)
    }

    func run() throws {
        global.apply()
        let config = try Runtime.loadConfig(global)
        let session = UploadSession(config: config, global: global, jsonProgress: progress)
        let listing = session.journal.all()
        for corrupt in listing.corrupt {
            Output.diagnostic("warning: the journal file \(corrupt.path) was damaged (\(corrupt.reason)); it was moved to \(corrupt.movedTo)")
        }
        // A newer agent's entry is neither resumed nor touched: every other entry is still resumed
        // (one such file must not stop the timer's runs for good), and the run fails at the end.
        var tooNew: [AgentError] = []
        var entries: [JournalEntry]
        if let uploadID {
            // all() has set damaged files aside already: what load finds is an entry, a newer one or nothing.
            if !uploadID.contains("/"), case .newer(let path, let version) = session.journal.load(uploadID) {
                throw Journal.tooNew(path: path, version: version)
            }
            guard let entry = listing.entries.first(where: { $0.id == uploadID }) else {
                throw AgentError(.notFound, "no journal entry \(uploadID)", hint: "`agent status` lists the upload ids")
            }
            guard !entry.isFinished else {
                throw AgentError(.notFound, "upload \(uploadID) is \(entry.state.rawValue); there is nothing to resume", hint: "`agent status \(uploadID)` shows it")
            }
            entries = [entry]
        } else {
            entries = listing.entries.filter(\.isResumable)
            tooNew = listing.newer
            for error in tooNew {
                Output.diagnostic("error: \(error.code): \(error.message)")
                Output.diagnostic("hint: \(error.hint)")
                Output.logFailure(error, context: "")
            }
        }
        let host = Runtime.hostname()
        var vaultNames: [String] = []
        for entry in entries where !vaultNames.contains(entry.vault) { vaultNames.append(entry.vault) }
        let pings = RunPings.monitors(config: config, vaults: vaultNames)
        if !entries.isEmpty { pings.start() }
        for entry in entries {
            if Runtime.interrupted { break }
            do {
                let vault = try config.vault(named: entry.vault)
                // This run's flags, else the limits the upload was started with, else the vault's.
                let overrides = RunOverrides(
                    concurrency: concurrency ?? entry.concurrency, bandwidthLimit: bandwidthLimit.flatMap(Units.parseRate) ?? entry.bandwidthLimit)
                let target = try UploadTarget(vault: vault, overrides: overrides, host: host)
                let backup = try entry.resolveBackup(backupDir: config.backupDir)
                session.run(backup: backup, target: target, force: false)
            } catch let error as AgentError {
                session.record(failure: error, backup: entry.backup, vault: entry.vault)
                let permanent: Set<ErrorCode> = [.noDir, .snapshot, .invalidPath, .emptyBackup, .invalidConfig]
                if permanent.contains(error.code) {
                    // The source is gone or the vault no longer exists: stop offering it to every timer
                    // run (`agent resume <UPLOAD-ID>` still takes it once fixed). A backup being
                    // rewritten (NOT_COMPLETED) or briefly unreadable stays resumable.
                    session.journal.markFailed(entry.id, reason: "\(error.code): \(error.message)")
                }
            }
        }
        session.report(emptyMessage: "nothing to resume: every upload in the journal is finished", unreadable: tooNew)
        session.recordMetrics()
        if !entries.isEmpty { RunPings.finish(pings, outcomes: session.outcomes, exitStatus: Output.exitStatus) }
    }
}
