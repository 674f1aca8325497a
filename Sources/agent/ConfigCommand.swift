import AgentSupport
import ArgumentParser

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with the configuration.",
        subcommands: [ConfigCheckCommand.self]
    )
}

struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the config and print each vault's resolved endpoint, region and addressing, secrets redacted."
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        throw notBuiltYet("config check")
    }
}
