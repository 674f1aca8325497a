import AgentSupport
import Config
import Logging
import Metrics
import SigV4
import Upload

/// Writes the `metrics_file` after a run, when the config names one. A metrics failure is
/// logged as a warning and never changes the run's exit status.
enum RunMetrics {
    static func record(
        config: AgentConfig, logger: Logger,
        outcomes: [(vault: String, result: Result<UploadResult, AgentError>, retries: Int, stalls: Int)]
    ) {
        guard let file = config.metricsFile else { return }
        let recorder = MetricsRecorder(stateDir: config.stateDir, file: file)
        // A skew corrected in this run (server − local offset): the gauge is local − server.
        let skew = ClockOffsets.lastSeen.map { -$0 }
        for outcome in outcomes {
            do {
                switch outcome.result {
                case .success(let r):
                    try recorder.record(
                        vault: outcome.vault, ok: true, bytes: r.bytesSent, files: r.alreadyOffsite ? 0 : r.files.count,
                        retries: outcome.retries, stalls: outcome.stalls, resumed: r.resumed, clockSkew: skew)
                case .failure:
                    try recorder.record(vault: outcome.vault, ok: false, retries: outcome.retries, stalls: outcome.stalls, clockSkew: skew)
                }
            } catch {
                logger.warning("metrics_file \(file) not updated: \(error.description)", metadata: ["path": .string(file), "vault": .string(outcome.vault)])
                return
            }
        }
    }
}
