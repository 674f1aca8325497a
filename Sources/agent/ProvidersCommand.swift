import AgentSupport
import ArgumentParser

struct ProvidersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers",
        abstract: "List provider profiles and what each supports."
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        throw notBuiltYet("providers")
    }
}
