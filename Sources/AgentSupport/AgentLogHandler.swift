import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How `state_dir/agent.log` is written (`log_format` in the config): `text`, the human line after a
/// timestamp and level, or `json`, one JSON object per line with every metadata key as a field.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// Writes each event as one line: to stderr (`warning: ...`, plain for info) and, when a log
/// file is open, appended there with a UTC ISO-8601 timestamp, as text or as a JSON object.
public struct AgentLogHandler: LogHandler {
    /// The shared log file descriptor (-1: none). Opened once by the CLI.
    nonisolated(unsafe) public static var fileDescriptor: Int32 = -1
    /// The log file's format (`log_format`); stderr always gets the human line.
    nonisolated(unsafe) public static var fileFormat: LogFormat = .text
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

    /// The fields of a JSON log line that metadata cannot take: a metadata key of the same name
    /// is written as `meta_<key>`.
    public static let fixedFields: Set<String> = ["ts", "level", "msg"]

    public func log(event: LogEvent) {
        let metadata = metadata.merging(event.metadata ?? [:]) { $1 }
        let text = "\(event.message)"
        if !AgentLogHandler.quietStderr && (!AgentLogHandler.errorsOnlyOnStderr || event.level >= .error) {
            switch event.level {
            case .trace, .debug, .info, .notice: StandardStreams.writeError(text + "\n")
            case .warning: StandardStreams.writeError("warning: " + text + "\n")
            case .error, .critical: StandardStreams.writeError("error: " + text + "\n")
            }
        }
        AgentLogHandler.record(event.level, text, metadata: metadata)
    }

    /// The human line of an event is its message, exactly as documented: every message says in
    /// words what its metadata (`vault`, `key`, `part`, `attempt`, ...) holds, so the metadata is
    /// not repeated there; the JSON format writes it as fields.
    public static func text(_ message: Logger.Message, _ metadata: Logger.Metadata) -> String { "\(message)" }

    /// Writes one line to the log file only (when open): for what stdout or stderr already said
    /// in other words, so the terminal shows each fact once and the log keeps the record.
    public static func record(_ level: Logger.Level, _ text: String, metadata: Logger.Metadata = [:]) {
        var line = fileLine(level, text, metadata: metadata, at: Timestamp.iso8601(Timestamp.now()), format: fileFormat) + "\n"
        fileLock.withLock { _ in
            guard fileDescriptor >= 0 else { return }
            line.withUTF8 { buf in _ = Glibc.write(fileDescriptor, buf.baseAddress, buf.count) }
            rotateIfNeeded()
        }
    }

    /// One line of the log file (without its newline): `<ts> <LEVEL> <message>`, or in `json`
    /// `{"ts": ..., "level": ..., "msg": ..., <metadata keys in order>}`.
    public static func fileLine(_ level: Logger.Level, _ text: String, metadata: Logger.Metadata, at ts: String, format: LogFormat) -> String {
        let levelWord = level.rawValue.uppercased()
        switch format {
        case .text:
            return "\(ts) \(levelWord) \(text)"
        case .json:
            var fields: [(String, JSON)] = [("ts", .string(ts)), ("level", .string(levelWord)), ("msg", .string(text))]
            var taken = fixedFields
            for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
                var name = key
                while taken.contains(name) { name = "meta_" + name }
                taken.insert(name)
                fields.append((name, json(value)))
            }
            return JSON.object(fields).serialized()
        }
    }

    /// A metadata value as JSON: a number given as a number (`.stringConvertible` of an integer
    /// or floating-point value) stays a number, a Bool a Bool; everything else is a string;
    /// dictionaries and arrays keep their shape.
    public static func json(_ value: Logger.Metadata.Value) -> JSON {
        switch value {
        case .string(let s): return .string(s)
        case .stringConvertible(let v):
            switch v {
            case let b as Bool: return .bool(b)
            case let i as any BinaryInteger: return .int(Int64(clamping: i))
            case let d as Double: return d.isFinite ? .double(d) : .string(d.description)
            case let f as Float: return f.isFinite ? .double(Double(f)) : .string(f.description)
            default: return .string(v.description)
            }
        case .dictionary(let d): return .object(d.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) })
        case .array(let a): return .array(a.map(json))
        }
    }

    /// Opens `<stateDir>/agent.log` for appending (0600), written in `format`. Failure to open is not fatal.
    public static func openLogFile(stateDir: String, format: LogFormat = .text) {
        fileFormat = format
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
