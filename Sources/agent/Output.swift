import AgentSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The CLI's output layer: human text on stdout, diagnostics on stderr, `--json` documents.
enum Output {
    nonisolated(unsafe) static var jsonMode = false
    /// The exit status a command that returned normally ends with.
    nonisolated(unsafe) static var exitStatus: ExitStatus = .success

    static func line(_ text: String) {
        print(text)
    }

    static func diagnostic(_ text: String) {
        var t = text
        if !t.hasSuffix("\n") { t += "\n" }
        StandardStreams.writeError(t)
    }

    static func emit(_ json: JSON) {
        print(json.serialized())
    }

    /// `error: CODE: message` + `hint: fix` on stderr, and with `--json` the error document on stdout.
    static func fail(_ error: AgentError, json: Bool) {
        diagnostic("error: \(error.code): \(error.message)")
        for attempt in error.attempts { diagnostic("  attempt: \(attempt)") }
        diagnostic("hint: \(error.hint)")
        if json {
            emit(errorDocument(error))
        }
    }

    static func errorDocument(_ error: AgentError, extra: [(String, JSON)] = []) -> JSON {
        var fields: [(String, JSON)] = [("code", .string(error.code.rawValue)), ("message", .string(error.message)), ("hint", .string(error.hint))]
        if !error.attempts.isEmpty { fields.append(("attempts", .array(error.attempts.map { .string($0) }))) }
        return .object([("ok", .bool(false)), ("error", .object(fields))] + extra)
    }
}
