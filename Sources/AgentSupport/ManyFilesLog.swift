import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The log lines of many small files (SPEC 5, issue 19): one line per file when there are few,
/// else a summary every 1,000 files or 10 seconds and one at the end. Large files and failures
/// keep their own lines (the engines write those).
public struct ManyFilesLog {
    public static let perFileUpTo = 20
    public static let everyFiles = 1000
    public static let everySeconds = 10.0

    let verb: String
    let total: Int
    let logger: Logger
    public private(set) var done = 0
    private var bytes: Int64 = 0
    private var reported = 0
    private let started: Double
    private var lastLine: Double

    /// `verb`: "uploaded" or "restored"; `total`: the small files this run handles.
    public init(verb: String, total: Int, logger: Logger) {
        self.verb = verb
        self.total = total
        self.logger = logger
        started = ManyFilesLog.now()
        lastLine = started
    }

    /// One small file done; `detail` is its own line's text when there are few, `metadata` its
    /// fields (`key`, `path`).
    public mutating func add(bytes size: Int64, detail: @autoclosure () -> String, metadata: @autoclosure () -> Logger.Metadata = [:]) {
        done += 1
        bytes += size
        if total <= ManyFilesLog.perFileUpTo {
            logger.info("\(verb) \(detail())", metadata: metadata().merging(["bytes": .stringConvertible(size)]) { $1 })
            reported = done
            return
        }
        let now = ManyFilesLog.now()
        if done % ManyFilesLog.everyFiles == 0 || now - lastLine >= ManyFilesLog.everySeconds { line(now) }
    }

    /// The closing summary, unless the last line already said it all.
    public mutating func finish() {
        if total > ManyFilesLog.perFileUpTo, done > reported { line(ManyFilesLog.now()) }
    }

    private mutating func line(_ now: Double) {
        let seconds = now - started
        let rate = seconds > 0 ? Double(done) / seconds : 0
        var metadata = Units.transferredMetadata(files: done, bytes: bytes, seconds: seconds)
        metadata["total_files"] = .stringConvertible(total)
        logger.info(
            "\(verb) \(done) of \(total) small files (\(Units.formatSize(bytes)), \(Units.formatDuration(seconds)), \(Units.formatFixed(rate, digits: 0)) files/s)",
            metadata: metadata)
        reported = done
        lastLine = now
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
