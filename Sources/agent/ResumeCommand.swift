import AgentSupport
import ArgumentParser

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Finish interrupted uploads from the journal."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Resume every unfinished upload.")
    var all = false

    @Argument(help: "The upload id to resume (see `agent status`).")
    var uploadID: String?

    func validate() throws {
        if all == (uploadID != nil) { throw ValidationError("give an upload id or --all") }
    }

    func run() throws {
        global.apply()
        throw notBuiltYet("resume")
    }
}
