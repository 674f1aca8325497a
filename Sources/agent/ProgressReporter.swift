import AgentSupport
import HTTPTransport
import Logging

/// Progress for long transfers: a live line on a terminal, a log line at least every 10 s
/// otherwise, JSON lines on stderr with `--json --progress`.
///
/// Bytes are counted as curl moves them (`wire`: what this run sent or received, retries
/// included), so the line moves smoothly under a bandwidth limit instead of in whole parts; the
/// rate is taken over a moving window of this run's bytes, never of what an earlier run sent.
final class ProgressReporter {
    enum Mode { case terminal, log, jsonLines, off }

    let mode: Mode
    let label: String
    let total: Int64
    let logger: Logger
    /// Bytes the server confirmed (whole files and parts), earlier runs' included.
    private(set) var confirmed: Int64 = 0
    /// This run's bytes on the wire so far (monotonic), and the part not yet confirmed.
    private let wireCounter: (() -> Int64)?
    private let inFlight: () -> Int64
    /// Confirmed bytes counted on the wire, when no wire counter is given.
    private var addedThisRun: Int64 = 0
    private var lastLog = monotonicSeconds()
    private var samples = RateWindow(seconds: 10)

    init(
        label: String, total: Int64, logger: Logger, json: Bool, jsonProgress: Bool, shareTerminal: Bool = false,
        wire: (() -> Int64)? = nil, inFlight: (() -> Int64)? = nil
    ) {
        self.label = label
        self.total = total
        self.logger = logger
        self.inFlight = inFlight ?? { 0 }
        if json {
            mode = jsonProgress ? .jsonLines : .off
        } else if Output.quiet {
            mode = .off
        } else {
            // Several vaults at once share stderr: log lines rather than one live line.
            mode = StandardStreams.isTerminal(2) && !shareTerminal ? .terminal : .log
        }
        wireCounter = wire
        samples.add(at: monotonicSeconds(), bytes: wireBytes)
    }

    /// This run's bytes: the wire counter, else what the server confirmed in this run.
    private var wireBytes: Int64 { wireCounter?() ?? addedThisRun }

    /// Bytes already held before this run (a resumed upload or restore): counted in the
    /// percentage, never in the rate.
    func alreadyDone(_ bytes: Int64) { confirmed += bytes }

    /// Bytes newly confirmed by the server.
    func add(_ bytes: Int64) {
        confirmed += bytes
        addedThisRun += bytes
    }

    /// What the line shows as done: confirmed plus what is on its way, never past the total.
    var done: Int64 { min(total, confirmed + max(0, inFlight())) }

    func tick() {
        let now = monotonicSeconds()
        samples.add(at: now, bytes: wireBytes)
        let rate = samples.rate
        let done = self.done
        let percent = total > 0 ? Double(done) * 100 / Double(total) : 100
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let etaText = rate > 0 ? Units.formatDuration(eta) : "-"
        switch mode {
        case .off: return
        case .terminal:
            StandardStreams.drawLiveLine(
                "\(label): \(Units.formatSize(done)) / \(Units.formatSize(total)) (\(Units.formatFixed(percent, digits: 1))%) \(Units.formatSize(Int64(rate)))/s ETA \(etaText)")
        case .log:
            guard now - lastLog >= 10 else { return }
            lastLog = now
            logger.info(
                "progress \(label): \(Units.formatSize(done)) of \(Units.formatSize(total)) (\(Units.formatFixed(percent, digits: 1))%), \(Units.formatSize(Int64(rate)))/s, ETA \(etaText)",
                metadata: [
                    "operation": "progress", "label": .string(label), "bytes": .stringConvertible(done), "total_bytes": .stringConvertible(total), "rate": .stringConvertible(Int64(rate)),
                    "eta_seconds": .stringConvertible(Int64(eta)),
                ])
        case .jsonLines:
            let event = JSON.object([
                ("event", .string("progress")), ("label", .string(label)), ("bytes", .int(done)), ("total", .int(total)),
                ("rate", .int(Int64(rate))), ("eta_seconds", .int(Int64(eta))),
            ])
            StandardStreams.writeError(event.serialized() + "\n")
        }
    }

    func finish() {
        if mode == .terminal { StandardStreams.clearLiveLine() }
    }
}
