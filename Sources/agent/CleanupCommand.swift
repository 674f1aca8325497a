import AgentSupport
import ArgumentParser
import Upload
import Vault

struct CleanupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Abort stale multipart uploads under the vault prefix that no journal entry owns.",
        discussion: "Abandoned multipart uploads keep their parts, and providers bill for them."
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Vault to clean (default: default_vault).")
    var vault: String?

    @Option(name: .long, help: "Only uploads started longer ago than this.")
    var olderThan: String = "24h"

    @Flag(name: .long, help: "List what would be aborted, abort nothing.")
    var dryRun = false

    func validate() throws {
        if Units.parseDuration(olderThan, requireUnit: true) == nil {
            throw ValidationError("--older-than \(olderThan) is not a duration with a unit (e.g. 24h, 90m, 2d)")
        }
    }

    func run() throws {
        global.apply()
        let config = try Runtime.loadConfig(global)
        let logger = Runtime.start(config: config)
        let resolved = try config.vault(named: vault)
        let session = try VaultAccess.session(resolved, logger: logger)
        let journal = Journal(stateDir: config.stateDir)
        // Uploads a live (unfinished) entry owns are never touched: resume needs them.
        var owned = Set<String>()
        let listing = journal.all()
        // Uploads a newer agent's entry owns cannot be told apart: clean nothing rather than lose them.
        if let first = listing.newer.first { throw first }
        for entry in listing.entries where !entry.isFinished {
            for file in entry.files { if let id = file.uploadID { owned.insert(id) } }
        }
        let found: [StaleUploads.Candidate]
        do {
            found = try StaleUploads.clean(
                client: session.client, prefix: session.prefix, olderThan: Units.parseDuration(olderThan) ?? 86400, owned: owned, now: Timestamp.now(), dryRun: dryRun)
        } catch {
            throw session.storageError(error, action: "s3:ListBucketMultipartUploads", rerun: "agent cleanup --vault \(resolved.name)")
        }
        for c in found where c.error != nil {
            logger.warning(
                "could not abort \(c.key) (\(c.uploadID)): \(c.error ?? "")",
                metadata: ["operation": "AbortMultipartUpload", "vault": .string(resolved.name), "key": .string(c.key), "upload_id": .string(c.uploadID)])
        }
        if found.contains(where: { $0.error != nil }) { Output.exitStatus = .storage }
        if global.json {
            Output.emit(
                .object([
                    ("ok", .bool(!found.contains { $0.error != nil })), ("vault", .string(resolved.name)), ("dry_run", .bool(dryRun)),
                    (
                        "uploads",
                        .array(
                            found.map {
                                .object([
                                    ("key", .string($0.key)), ("upload_id", .string($0.uploadID)), ("initiated", .string($0.initiated)),
                                    ("aborted", .bool($0.aborted)),
                                ])
                            })
                    ),
                ]))
            return
        }
        if found.isEmpty {
            Output.line("no stale multipart uploads under \(session.prefix) in vault \(resolved.name)")
        }
        for c in found {
            Output.line("\(dryRun ? "would abort" : (c.aborted ? "aborted" : "FAILED")) \(c.key) (started \(c.initiated))")
        }
    }
}
