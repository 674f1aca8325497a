import AgentSupport
import ArgumentParser

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Bring an offsite copy back."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup id.")
    var backupID: String

    @Option(name: .long, help: "Vault to restore from (default: default_vault).")
    var vault: String?

    @Option(name: .long, help: "Target directory (default: backup_dir/<BACKUP-ID>).")
    var to: String?

    @Flag(name: .long, help: "Restore into a target that holds other files.")
    var force = false

    func run() throws {
        global.apply()
        throw notBuiltYet("restore")
    }
}
