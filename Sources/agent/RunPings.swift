import AgentSupport
import Config
import Logging
import Monitoring
import Upload

/// The monitoring pings of an `upload` or `resume` run (`ping_url`): which monitors hear about
/// it, and the summary they get. A run with nothing to do pings nobody, so the resume timer's
/// quiet runs never make a monitor believe a backup went offsite.
enum RunPings {
    /// The monitors of `vaults` (each vault's own `ping_url`, else the top-level one).
    static func monitors(config: AgentConfig, vaults: [String]) -> MonitorPings {
        MonitorPings(urls: vaults.map { ($0, config.pingURL(forVault: $0)) }) { warning, fields in
            Logger(label: "offsite-agent").warning("\(warning)", metadata: fields.mapValues { .string($0) })
        }
    }

    /// The vaults a run uses when none is named: `default_vaults`, else `default_vault`.
    static func defaultVaultNames(_ config: AgentConfig) -> [String] {
        config.defaultVaults.isEmpty ? (config.defaultVault.map { [$0] } ?? []) : config.defaultVaults
    }

    /// Ends the run's pings with each outcome and the exit status the run ends with.
    static func finish(_ pings: MonitorPings, outcomes: [UploadSession.Outcome], exitStatus: ExitStatus) {
        var reported: [VaultOutcome] = outcomes.map { o in
            switch o.result {
            case .success(let r) where r.alreadyOffsite:
                return VaultOutcome(vault: o.vault, line: "\(o.backup) -> \(o.vault): already complete offsite", error: nil)
            case .success(let r):
                return VaultOutcome(
                    vault: o.vault,
                    line: "\(o.backup) -> \(o.vault): uploaded \(r.files.count) files, \(Units.formatSize(r.bytes)) in \(Units.formatDuration(r.seconds))\(r.resumed ? " (resumed)" : "")",
                    error: nil)
            case .failure(let e):
                return VaultOutcome(vault: o.vault, line: "\(o.backup) -> \(o.vault): FAILED \(e.code)", error: e)
            }
        }
        // An interruption or a failed prune after the uploads is the run's failure too.
        if exitStatus != .success, reported.allSatisfy({ $0.error == nil }) {
            let error = AgentError(
                exitStatus == .tempFail ? .interrupted : .failed, "the run ended with exit status \(exitStatus.rawValue)",
                hint: "see the agent's log (state_dir/agent.log)", exit: exitStatus)
            if reported.isEmpty {
                // Interrupted before the first backup: every monitor hears it.
                pings.failBeforeStart(error)
                return
            }
            reported = reported.map { VaultOutcome(vault: $0.vault, line: $0.line, error: error) }
        }
        pings.finish(reported) { vaults in
            let mine = outcomes.filter { vaults.contains($0.vault) }.compactMap { o -> UploadResult? in
                if case .success(let r) = o.result, !r.alreadyOffsite { return r }
                return nil
            }
            guard !mine.isEmpty else { return nil }
            let files = mine.reduce(0) { $0 + $1.files.count }
            let bytes = mine.reduce(Int64(0)) { $0 + $1.bytes }
            let seconds = mine.reduce(0.0) { $0 + $1.seconds }
            let rate = seconds > 0 ? Int64(Double(bytes) / seconds) : bytes
            return Units.transferredLine(files: files, bytes: bytes, seconds: seconds, rate: rate)
        }
    }
}
