import AgentSupport
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The CLI's output layer: results on stdout, diagnostics on stderr, `--json` documents. Each
/// fact is said once across both; results and failures are also kept in `state_dir/agent.log`
/// once it is open.
enum Output {
    nonisolated(unsafe) static var jsonMode = false
    /// `--quiet`: only errors (for cron); the log file still records everything.
    nonisolated(unsafe) static var quiet = false
    /// The exit status a command that returned normally ends with.
    nonisolated(unsafe) static var exitStatus: ExitStatus = .success
    /// What this run works on ("vault main", "backup b1, vault main"): named in its log's ERROR line.
    nonisolated(unsafe) static var context = ""
    /// The same as fields of the ERROR line in a JSON log (`vault`, `backup`).
    nonisolated(unsafe) static var contextMetadata: Logger.Metadata = [:]

    /// Human text on stdout (not recorded).
    static func line(_ text: String) {
        if quiet { return }
        StandardStreams.writeOutput(text.hasSuffix("\n") ? text : text + "\n")
    }

    /// A result on stdout, also recorded in agent.log (one line per result line).
    static func result(_ text: String) {
        line(text)
        for l in text.split(separator: "\n", omittingEmptySubsequences: true) { AgentLogHandler.record(.info, String(l)) }
    }

    /// A diagnostic on stderr; `--quiet` keeps only `error:`/`hint:` lines.
    static func diagnostic(_ text: String) {
        if quiet && !(text.hasPrefix("error:") || text.hasPrefix("hint:") || text.hasPrefix("  attempt:")) { return }
        StandardStreams.writeError(text.hasSuffix("\n") ? text : text + "\n")
    }

    static func emit(_ json: JSON) {
        StandardStreams.writeOutput(json.serialized() + "\n")
    }

    /// `error: CODE: message` + `hint: fix` on stderr, and with `--json` the error document on stdout;
    /// one ERROR line in agent.log.
    static func fail(_ error: AgentError, json: Bool) {
        diagnostic("error: \(error.code): \(error.message)")
        for attempt in error.attempts { diagnostic("  attempt: \(attempt)") }
        diagnostic("hint: \(error.hint)")
        logFailure(error, context: context, metadata: contextMetadata)
        if json {
            emit(errorDocument(error))
        }
    }

    /// The failed run's one ERROR line in agent.log: code, message, hint, and what it worked on
    /// (`metadata`: the same as fields, with `code` and `hint`).
    static func logFailure(_ error: AgentError, context: String, metadata: Logger.Metadata = [:]) {
        let on = context.isEmpty ? "" : " [\(context)]"
        let fields = metadata.merging(["code": .string(error.code.rawValue), "hint": .string(error.hint)]) { $1 }
        AgentLogHandler.record(.error, "\(error.code): \(error.message)\(on); hint: \(error.hint)", metadata: fields)
    }

    static func errorDocument(_ error: AgentError, extra: [(String, JSON)] = []) -> JSON {
        var fields: [(String, JSON)] = [("code", .string(error.code.rawValue)), ("message", .string(error.message)), ("hint", .string(error.hint))]
        if !error.attempts.isEmpty { fields.append(("attempts", .array(error.attempts.map { .string($0) }))) }
        return .object([("ok", .bool(false)), ("error", .object(fields))] + extra)
    }
}
