import AgentSupport
import ArgumentParser
import Upload

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List journal entries and their state.",
        discussion: "With --max-age, exits 1 when a configured vault has no successful upload that recent (a monitoring check)."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Show one upload only.")
    var uploadID: String?

    @Option(name: .long, help: "Exit 1 if a vault has no successful upload this recent, e.g. 26h.")
    var maxAge: String?

    func validate() throws {
        if let m = maxAge, Units.parseDuration(m, requireUnit: true) == nil {
            throw ValidationError("--max-age \(m) is not a duration with a unit (e.g. 26h, 90m, 2d)")
        }
    }

    func run() throws {
        global.apply()
        let config = try Runtime.loadConfig(global)
        let journal = Journal(stateDir: config.stateDir)
        let listing = journal.all()
        for corrupt in listing.corrupt {
            Output.diagnostic("warning: the journal file \(corrupt.path) was damaged (\(corrupt.reason)); it was moved to \(corrupt.movedTo)")
        }
        for newer in listing.newer {
            Output.diagnostic("warning: \(newer.code): \(newer.message)")
            Output.exitStatus = .config
        }
        var entries = listing.entries
        if let uploadID {
            entries = entries.filter { $0.id == uploadID }
            if entries.isEmpty { throw AgentError(.notFound, "no journal entry \(uploadID)", hint: "`agent status` lists the upload ids") }
        }
        var stale: [FreshnessCheck.Finding] = []
        if let maxAge, let seconds = Units.parseDuration(maxAge) {
            stale = FreshnessCheck.staleVaults(vaults: config.vaultNames, entries: listing.entries, maxAge: seconds, now: Timestamp.now())
            if !stale.isEmpty { Output.exitStatus = .failed }
        }
        if global.json {
            var fields: [(String, JSON)] = [("ok", .bool(stale.isEmpty)), ("entries", .array(entries.map { $0.statusJSON() }))]
            if maxAge != nil {
                fields.append(
                    ("stale_vaults", .array(stale.map { .object([("vault", .string($0.vault)), ("last_success", $0.lastSuccess.map { .string(Timestamp.iso8601($0)) } ?? .null)]) })))
            }
            Output.emit(.object(fields))
            return
        }
        if entries.isEmpty {
            Output.line("the journal is empty: no uploads recorded in \(journal.directory)")
        } else {
            var table = TextTable(header: ["ID", "BACKUP", "VAULT", "STATE", "DONE", "TOTAL", "UPDATED"])
            for e in entries {
                table.rows.append([e.id, e.backup, e.vault, e.state.rawValue, Units.formatSize(e.bytesDone), Units.formatSize(e.bytesTotal), Timestamp.iso8601(e.updated)])
            }
            Output.line(table.rendered())
            for e in entries {
                if let err = e.lastError, e.state != .completed { Output.line("\(e.id): last error: \(err)") }
            }
        }
        for s in stale {
            let since = s.lastSuccess.map { "the last one was at \(Timestamp.iso8601($0))" } ?? "it never had one"
            Output.diagnostic("error: vault \(s.vault) has no successful upload in the last \(maxAge ?? ""); \(since)")
        }
        if !stale.isEmpty {
            Output.diagnostic("hint: check the post-backup hook and the resume timer (`agent status`, `journalctl -u offsite-agent-resume`)")
        }
    }
}
