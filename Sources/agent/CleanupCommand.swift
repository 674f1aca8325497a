import AgentSupport
import ArgumentParser

struct CleanupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Abort stale multipart uploads under the vault prefix that no journal entry owns."
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Vault to clean (default: default_vault).")
    var vault: String?

    @Option(name: .long, help: "Only uploads started longer ago than this.")
    var olderThan: String = "24h"

    @Flag(name: .long, help: "List what would be aborted, abort nothing.")
    var dryRun = false

    func run() throws {
        global.apply()
        throw notBuiltYet("cleanup")
    }
}
