import AgentSupport
import ArgumentParser

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List journal entries and their state."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Show one upload only.")
    var uploadID: String?

    @Option(name: .long, help: "Exit 1 if a vault has no successful upload this recent, e.g. 26h.")
    var maxAge: String?

    func run() throws {
        global.apply()
        throw notBuiltYet("status")
    }
}
