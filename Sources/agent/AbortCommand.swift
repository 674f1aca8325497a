import AgentSupport
import ArgumentParser
import Upload
import Vault

struct AbortCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abort",
        abstract: "Abort one multipart upload on the server and mark it aborted."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The upload id (see `agent status`).")
    var uploadID: String

    func run() throws {
        global.apply()
        let config = try Runtime.loadConfig(global)
        let logger = Runtime.start(config: config)
        let journal = Journal(stateDir: config.stateDir)
        guard case .entry(var entry) = journal.load(uploadID) else {
            throw AgentError(.notFound, "no journal entry \(uploadID)", hint: "`agent status` lists the upload ids")
        }
        guard let lock = journal.lock(uploadID) else {
            throw AgentError(.locked, "another agent is working on upload \(uploadID) right now", hint: "stop it first (SIGTERM), then abort")
        }
        defer { withExtendedLifetime(lock) {} }
        guard !entry.isFinished else {
            // A completed upload is offsite: marking it aborted would misreport a good backup.
            throw AgentError(
                .usage, "upload \(uploadID) is \(entry.state.rawValue); only an unfinished upload can be aborted",
                hint: entry.state == .completed
                    ? "backup \(entry.backup) is complete offsite in vault \(entry.vault); to remove it use `agent prune`" : "`agent status \(uploadID)` shows it",
                exit: .usage)
        }
        let session = try VaultAccess.session(try config.vault(named: entry.vault), logger: logger)
        var aborted = 0
        for file in entry.files where file.state != .done {
            guard let id = file.uploadID else { continue }
            do {
                try session.client.abortMultipartUpload(key: file.key, uploadID: id)
                aborted += 1
            } catch {
                if !error.failure.isUnknownUpload {
                    throw session.storageError(error, action: "s3:AbortMultipartUpload", rerun: "agent abort \(uploadID)")
                }
            }
        }
        entry.state = .aborted
        // An aborted entry keeps no encryption secret (nothing will re-create its parts).
        for i in entry.files.indices { entry.files[i].dropSecrets() }
        entry.updated = Timestamp.now()
        try journal.save(entry)
        logger.info(
            "aborted upload \(uploadID) of backup \(entry.backup) to vault \(entry.vault) (\(aborted) multipart upload(s) removed from the server)",
            metadata: [
                "operation": "abort", "upload": .string(uploadID), "backup": .string(entry.backup), "vault": .string(entry.vault), "aborted": .stringConvertible(aborted),
            ])
        if global.json {
            Output.emit(.object([("ok", .bool(true)), ("id", .string(uploadID)), ("aborted_multipart_uploads", .int(Int64(aborted)))]))
        } else {
            Output.line("upload \(uploadID) aborted; \(aborted) multipart upload(s) removed from the server")
        }
    }
}
