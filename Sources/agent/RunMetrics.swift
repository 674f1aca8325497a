import AgentSupport
import Config
import Logging
import Metrics
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
        for outcome in outcomes {
            do {
                switch outcome.result {
                case .success(let r):
                    try recorder.record(
                        vault: outcome.vault, ok: true, bytes: r.bytesSent, files: r.alreadyOffsite ? 0 : r.files.count,
                        retries: outcome.retries, stalls: outcome.stalls, resumed: r.resumed)
                case .failure:
                    try recorder.record(vault: outcome.vault, ok: false, retries: outcome.retries, stalls: outcome.stalls)
                }
            } catch {
                logger.warning("metrics_file \(file) not updated: \(error.description)")
                return
            }
        }
    }
}
