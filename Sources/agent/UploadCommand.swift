import AgentSupport
import ArgumentParser

struct UploadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Upload backups to one vault or several at once.",
        discussion: "BACKUP is a backup id (a directory under backup_dir), a path to a backup directory, or a path to one archive file."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Backup ids or paths inside backup_dir.")
    var backups: [String] = []

    @Flag(name: .long, help: "Upload every completed backup not yet offsite.")
    var pending = false

    @Option(name: .long, help: "Vault to upload to (repeatable; default: default_vaults or default_vault).")
    var vault: [String] = []

    @Flag(name: .long, help: "Upload again even if the backup is already complete offsite.")
    var force = false

    @Flag(name: .long, help: "Prune past retention after a successful upload.")
    var prune = false

    @Option(name: .long, help: "Multipart part size for this run, e.g. 16MiB.")
    var partSize: String?

    @Option(name: .long, help: "Parts in flight at once for this run.")
    var concurrency: Int?

    @Option(name: .long, help: "Bandwidth limit for the whole agent for this run, e.g. 20MiB/s.")
    var bandwidthLimit: String?

    @Flag(name: .long, help: "With --json: JSON lines progress events on stderr.")
    var progress = false

    func validate() throws {
        if pending && !backups.isEmpty { throw ValidationError("give backups or --pending, not both") }
        if !pending && backups.isEmpty { throw ValidationError("name at least one backup, or use --pending") }
        if let c = concurrency, c < 1 || c > 64 { throw ValidationError("--concurrency must be between 1 and 64") }
    }

    func run() throws {
        global.apply()
        throw notBuiltYet("upload")
    }
}
