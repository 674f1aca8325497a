import AgentSupport
import ArgumentParser

struct AbortCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abort",
        abstract: "Abort one multipart upload on the server and mark it aborted."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The upload id (see `agent status`).")
    var uploadID: String

    func run() throws {
        global.apply()
        throw notBuiltYet("abort")
    }
}
