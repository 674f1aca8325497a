import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Writes each event as one line: to stderr (`warning: ...`, plain for info) and, when a log
/// file is open, appended there with a UTC ISO-8601 timestamp. Metadata is rendered `key=value`.
public struct AgentLogHandler: LogHandler {
    /// The shared log file descriptor (-1: none). Opened once by the CLI.
    nonisolated(unsafe) public static var fileDescriptor: Int32 = -1
    /// When true nothing goes to stderr (e.g. `--json --progress` keeps stderr for JSON lines only).
    nonisolated(unsafe) public static var quietStderr = false

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var text = "\(event.message)"
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        if !merged.isEmpty {
            text += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        if !AgentLogHandler.quietStderr {
            switch event.level {
            case .trace, .debug, .info, .notice: StandardStreams.writeError(text + "\n")
            case .warning: StandardStreams.writeError("warning: " + text + "\n")
            case .error, .critical: StandardStreams.writeError("error: " + text + "\n")
            }
        }
        let fd = AgentLogHandler.fileDescriptor
        if fd >= 0 {
            var line = "\(Timestamp.iso8601(Timestamp.now())) \(event.level.rawValue.uppercased()) \(text)\n"
            line.withUTF8 { buf in _ = Glibc.write(fd, buf.baseAddress, buf.count) }
        }
    }

    /// Opens `<stateDir>/agent.log` for appending (0600). Failure to open is not fatal.
    public static func openLogFile(stateDir: String) {
        guard fileDescriptor < 0, AtomicFile.makeDirectories(stateDir, mode: 0o700) else { return }
        let path = stateDir.hasSuffix("/") ? stateDir + "agent.log" : stateDir + "/agent.log"
        fileDescriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    }
}
