import AgentSupport
import ArgumentParser

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the backups held in the vault."
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Vault to list (default: default_vault).")
    var vault: String?

    func run() throws {
        global.apply()
        throw notBuiltYet("list")
    }
}
