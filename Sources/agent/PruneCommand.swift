import AgentSupport
import ArgumentParser

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete this host's offsite backups past retention."
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Vault to prune (default: default_vault).")
    var vault: String?

    @Option(name: .long, help: "Delete backups older than this many days.")
    var keepDays: Int?

    @Option(name: .long, help: "Always keep at least this many newest backups.")
    var keepLast: Int?

    @Flag(name: .long, help: "List what would be deleted, delete nothing.")
    var dryRun = false

    func run() throws {
        global.apply()
        throw notBuiltYet("prune")
    }
}
