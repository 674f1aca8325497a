import Logging
import Synchronization

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
    /// `--quiet`: only errors reach stderr (the log file still gets every event).
    nonisolated(unsafe) public static var errorsOnlyOnStderr = false
    /// The level new handlers start with (`--log-level`).
    nonisolated(unsafe) public static var defaultLevel: Logger.Level = .info
    /// The open log file's path (nil: none), and when it is rotated: past `rotateBytes` it
    /// becomes `agent.log.1`, older ones shift up to `agent.log.<keepFiles>`, the oldest goes.
    nonisolated(unsafe) public private(set) static var logPath: String?
    nonisolated(unsafe) public static var rotateBytes: Int64 = 10 << 20
    nonisolated(unsafe) public static var keepFiles = 3
    /// Serialises writes and rotation: several vault threads log at once, and a descriptor
    /// must never be closed while another thread writes to it.
    static let fileLock = Mutex(())

    public var logLevel: Logger.Level = AgentLogHandler.defaultLevel
    public var metadata: Logger.Metadata = [:]
    let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Metadata the engines attach to every transfer event (`vault`, `key`, `part`, `attempt`,
    /// `operation`, `backup`, `path`) for handlers that read fields: the human line already says
    /// them in words, as documented, so it does not repeat them.
    public static let spokenKeys: Set<String> = ["vault", "key", "part", "attempt", "operation", "backup", "path"]

    public func log(event: LogEvent) {
        let text = AgentLogHandler.text(event.message, metadata.merging(event.metadata ?? [:]) { $1 })
        if !AgentLogHandler.quietStderr && (!AgentLogHandler.errorsOnlyOnStderr || event.level >= .error) {
            switch event.level {
            case .trace, .debug, .info, .notice: StandardStreams.writeError(text + "\n")
            case .warning: StandardStreams.writeError("warning: " + text + "\n")
            case .error, .critical: StandardStreams.writeError("error: " + text + "\n")
            }
        }
        AgentLogHandler.record(event.level, text)
    }

    /// The human line of an event: its message, then `key=value` for metadata it does not say in words.
    public static func text(_ message: Logger.Message, _ metadata: Logger.Metadata) -> String {
        let shown = metadata.filter { !spokenKeys.contains($0.key) }
        guard !shown.isEmpty else { return "\(message)" }
        return "\(message) " + shown.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    /// Writes one line to the log file only (when open): for what stdout or stderr already said
    /// in other words, so the terminal shows each fact once and the log keeps the record.
    public static func record(_ level: Logger.Level, _ text: String) {
        var line = "\(Timestamp.iso8601(Timestamp.now())) \(level.rawValue.uppercased()) \(text)\n"
        fileLock.withLock { _ in
            guard fileDescriptor >= 0 else { return }
            line.withUTF8 { buf in _ = Glibc.write(fileDescriptor, buf.baseAddress, buf.count) }
            rotateIfNeeded()
        }
    }

    /// Opens `<stateDir>/agent.log` for appending (0600). Failure to open is not fatal.
    public static func openLogFile(stateDir: String) {
        guard fileDescriptor < 0, AtomicFile.makeDirectories(stateDir, mode: 0o700) else { return }
        let path = stateDir.hasSuffix("/") ? stateDir + "agent.log" : stateDir + "/agent.log"
        logPath = path
        fileLock.withLock { _ in
            fileDescriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            rotateIfNeeded()
        }
    }

    /// Rotates the log once it is past `rotateBytes`. Several agents may share the file: the
    /// first to see it too large renames it under an exclusive lock; the others notice that
    /// their descriptor no longer names `agent.log` and reopen it. Called with `fileLock` held.
    static func rotateIfNeeded() {
        guard let path = logPath, fileDescriptor >= 0, rotateBytes > 0 else { return }
        var open_ = stat()
        var named = stat()
        guard fstat(fileDescriptor, &open_) == 0 else { return }
        let renamedByOther = stat(path, &named) != 0 || named.st_ino != open_.st_ino || named.st_dev != open_.st_dev
        if !renamedByOther && Int64(open_.st_size) < rotateBytes { return }
        let lockPath = path + ".lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if lock >= 0 {
            while flock(lock, LOCK_EX) != 0 && errno == EINTR {}
        }
        defer { if lock >= 0 { close(lock) } }
        // Checked again under the lock: another agent may have rotated meanwhile.
        if stat(path, &named) == 0, named.st_ino == open_.st_ino, named.st_dev == open_.st_dev, Int64(named.st_size) >= rotateBytes {
            let keep = max(1, keepFiles)
            unlink("\(path).\(keep)")
            for n in stride(from: keep - 1, through: 1, by: -1) { rename("\(path).\(n)", "\(path).\(n + 1)") }
            rename(path, "\(path).1")
        }
        let reopened = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        if reopened >= 0 {
            close(fileDescriptor)
            fileDescriptor = reopened
        }
    }
}
