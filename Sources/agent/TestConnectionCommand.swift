import AgentSupport
import ArgumentParser

struct TestConnectionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-connection",
        abstract: "Run the connection checks against a vault."
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Vault to test (default: default_vault).")
    var vault: String?

    @Flag(name: .long, help: "Skip the write, multipart and delete checks.")
    var noWrite = false

    func run() throws {
        global.apply()
        throw notBuiltYet("test-connection")
    }
}
