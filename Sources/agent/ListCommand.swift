import AgentSupport
import ArgumentParser
import Restore

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the backups held in the vault.",
        discussion: "A backup without offsite-manifest.json is incomplete: its upload never finished (or a prune was interrupted)."
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Vault to list (default: default_vault).")
    var vault: String?

    func run() throws {
        global.apply()
        let (_, _, session) = try VaultAccess.open(global, vault: vault, quiet: global.json)
        let catalog = VaultCatalog(session: session)
        var backups = try catalog.backups()
        catalog.readRetention(&backups)
        if global.json {
            Output.emit(
                .object([
                    ("ok", .bool(true)), ("vault", .string(session.vault)), ("bucket", .string(session.bucket)), ("prefix", .string(session.prefix)),
                    ("backups", .array(backups.map { $0.json() })),
                ]))
            return
        }
        if backups.isEmpty {
            Output.line("vault \(session.vault) holds no backups under \(session.bucket)/\(session.prefix)")
            return
        }
        // Object Lock: a RETAIN UNTIL column when the vault shows retention.
        let locked = backups.contains { $0.retention != nil }
        var table = TextTable(header: ["ID", "DATE", "SIZE", "FILES", "STATE", "HOST"] + (locked ? ["RETAIN UNTIL"] : []))
        for b in backups {
            table.rows.append(
                [
                    b.id, b.date.map(Timestamp.iso8601) ?? "-", Units.formatSize(b.size), String(b.fileCount), b.isComplete ? "complete" : "incomplete",
                    b.manifest?.host ?? "-",
                ] + (locked ? [b.retention.map { "\($0.retainUntil.map(Timestamp.iso8601) ?? $0.retainUntilText) (\($0.mode))" } ?? "-"] : []))
        }
        Output.line(table.rendered())
    }
}
