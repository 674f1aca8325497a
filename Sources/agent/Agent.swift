import AgentSupport
import ArgumentParser
import CBuildInfo
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The `agent` command line: argument parsing and output only; the work lives in the modules.
@main
struct Agent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Push finished backup archives offsite to S3-compatible storage.",
        version: AgentVersion.string,
        subcommands: [
            UploadCommand.self, ResumeCommand.self, StatusCommand.self, AbortCommand.self,
            CleanupCommand.self, TestConnectionCommand.self, ListCommand.self, VerifyCommand.self,
            RestoreCommand.self, PruneCommand.self, ProvidersCommand.self, ConfigCommand.self, DoctorCommand.self, FleetCommand.self, KeygenCommand.self,
        ]
    )

    static func main() {
        let wantsJSON = CommandLine.arguments.dropFirst().contains("--json")
        // `agent --version [--json]`: the build and the libraries it runs with.
        let arguments = Set(CommandLine.arguments.dropFirst())
        if arguments.contains("--version"), arguments.isSubset(of: ["--version", "--json"]) {
            AgentVersion.print(json: wantsJSON)
            Glibc.exit(0)
        }
        do {
            try checkHelpTopic(Array(CommandLine.arguments.dropFirst()))
            var command = try parseAsRoot()
            try command.run()
        } catch let error as AgentError {
            Output.fail(error, json: Output.jsonMode || wantsJSON)
            Glibc.exit(error.exitStatus.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help and --version land here.
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            if code.rawValue == ExitCode.validationFailure.rawValue || error is ValidationError {
                let usage = AgentError(.usage, message(for: error), hint: "run `agent help` for the commands and their options", exit: .usage)
                Output.fail(usage, json: wantsJSON)
                Glibc.exit(ExitStatus.usage.rawValue)
            }
            if let exit = error as? ExitCode {
                Glibc.exit(exit.rawValue)
            }
            let other = AgentError(.internalError, "\(error)", hint: "this is a bug in the agent; please report it with this message", exit: .failed)
            Output.fail(other, json: wantsJSON)
            Glibc.exit(ExitStatus.failed.rawValue)
        }
        Glibc.exit(Output.exitStatus.rawValue)
    }
}

extension Agent {
    /// `agent help <cmd>` for a command that does not exist is a usage error (exit 2), not help.
    static func checkHelpTopic(_ arguments: [String]) throws {
        guard arguments.first == "help", arguments.count > 1 else { return }
        let known = configuration.subcommands.map { $0.configuration.commandName ?? "" } + ["help"]
        let topic = arguments[1]
        guard topic.hasPrefix("-") || known.contains(topic) else {
            throw ValidationError("no command \(topic); the commands are \(known.filter { $0 != "help" }.joined(separator: ", "))")
        }
    }
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Config file (default: $OFFSITE_AGENT_CONFIG, else /etc/offsite-agent/agent.toml).", valueName: "path"))
    var config: String?

    @Flag(name: .long, help: "Print one JSON document on stdout as the final result.")
    var json = false

    @Option(name: .long, help: "Least severe log events to show and write to state_dir/agent.log.")
    var logLevel: LogLevel = .info

    @Option(name: .long, help: "Format of state_dir/agent.log: text or json (one JSON object per line); overrides log_format.")
    var logFormat: LogFormatOption?

    @Flag(name: .long, help: "Print only errors (for cron); agent.log still records everything.")
    var quiet = false

    /// Records the output mode and log level before anything is printed.
    func apply() {
        Output.jsonMode = json
        Output.quiet = quiet
        AgentLogHandler.errorsOnlyOnStderr = quiet
        Runtime.logLevel = logLevel.level
        Runtime.logFormat = logFormat.map(\.format)
    }
}

/// `--log-level` values: swift-log's levels.
enum LogLevel: String, CaseIterable, ExpressibleByArgument {
    case trace, debug, info, notice, warning, error, critical

    var level: Logger.Level { Logger.Level(rawValue: rawValue) ?? .info }
}

/// `--log-format` values.
enum LogFormatOption: String, CaseIterable, ExpressibleByArgument {
    case text, json

    var format: LogFormat { self == .json ? .json : .text }
}

enum AgentVersion {
    /// The release; `make deb` names the package after it.
    static let string = "0.1.0"

    /// Version, commit, libcurl (with its TLS library) and OpenSSL, one per line, or one JSON document.
    static func print(json: Bool) {
        let commit = String(cString: offsite_build_commit())
        let curl = String(cString: offsite_libcurl_version())
        let curlTLS = String(cString: offsite_libcurl_ssl_version())
        let openssl = String(cString: offsite_openssl_version())
        if json {
            Output.emit(
                .object([
                    ("version", .string(string)), ("commit", .string(commit)), ("libcurl", .string(curl)), ("libcurl_tls", .string(curlTLS)),
                    ("openssl", .string(openssl)),
                ]))
            return
        }
        Output.line("agent \(string)")
        Output.line("commit \(commit)")
        Output.line("libcurl \(curl)\(curlTLS.isEmpty ? "" : " (\(curlTLS))")")
        Output.line("openssl \(openssl)")
    }
}
