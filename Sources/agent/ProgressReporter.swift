import AgentSupport
import HTTPTransport
import Logging

/// Progress for long transfers: a live line on a terminal, a log line at least every 10 s
/// otherwise, JSON lines on stderr with `--json --progress`.
final class ProgressReporter {
    enum Mode { case terminal, log, jsonLines, off }

    let mode: Mode
    let label: String
    let total: Int64
    let logger: Logger
    private(set) var done: Int64 = 0
    private let started = monotonicSeconds()
    private var lastLog = monotonicSeconds()
    private var drewLine = false

    init(label: String, total: Int64, logger: Logger, json: Bool, jsonProgress: Bool, shareTerminal: Bool = false) {
        self.label = label
        self.total = total
        self.logger = logger
        if json {
            mode = jsonProgress ? .jsonLines : .off
        } else {
            // Several vaults at once share stderr: log lines rather than one live line.
            mode = StandardStreams.isTerminal(2) && !shareTerminal ? .terminal : .log
        }
    }

    func add(_ bytes: Int64) { done += bytes }

    func tick() {
        let now = monotonicSeconds()
        let elapsed = max(0.001, now - started)
        let rate = Double(done) / elapsed
        let percent = total > 0 ? Double(done) * 100 / Double(total) : 100
        let eta = rate > 0 ? Double(total - done) / rate : 0
        switch mode {
        case .off: return
        case .terminal:
            let line = "\r\(label): \(Units.formatSize(done)) / \(Units.formatSize(total)) (\(Units.formatFixed(percent, digits: 1))%) \(Units.formatSize(Int64(rate)))/s ETA \(Units.formatDuration(eta))   "
            StandardStreams.writeError(line)
            drewLine = true
        case .log:
            guard now - lastLog >= 10 else { return }
            lastLog = now
            logger.info("progress \(label): \(Units.formatSize(done)) of \(Units.formatSize(total)) (\(Units.formatFixed(percent, digits: 1))%), \(Units.formatSize(Int64(rate)))/s, ETA \(Units.formatDuration(eta))")
        case .jsonLines:
            let event = JSON.object([
                ("event", .string("progress")), ("label", .string(label)), ("bytes", .int(done)), ("total", .int(total)),
                ("rate", .int(Int64(rate))), ("eta_seconds", .int(Int64(eta))),
            ])
            StandardStreams.writeError(event.serialized() + "\n")
        }
    }

    func finish() {
        if drewLine { StandardStreams.writeError("\n") }
        drewLine = false
    }
}
