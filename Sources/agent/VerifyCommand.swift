import AgentSupport
import ArgumentParser

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check an offsite copy against its manifest."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup id.")
    var backupID: String

    @Option(name: .long, help: "Vault to check (default: default_vault).")
    var vault: String?

    @Flag(name: .long, help: "Download and re-hash every file.")
    var deep = false

    func run() throws {
        global.apply()
        throw notBuiltYet("verify")
    }
}
