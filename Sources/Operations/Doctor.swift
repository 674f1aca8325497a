import AgentSupport
import Config
import Diagnostics
import Metrics
import Upload

/// `agent doctor`: the knowledge base's "the backup didn't run" checklist, run on the server.
/// Every check only reads (files, the journal, `systemctl`/`timedatectl` answers, one unsigned
/// request per vault endpoint for its clock); the fixes are the admin's to run.
public final class Doctor {
    public struct Options: Sendable {
        /// A vault whose newest successful upload is older than this (seconds) is overdue.
        public var maxAge: Double = 26 * 3600
        /// A backup in progress longer than this (seconds) is stuck.
        public var stuckAfter: Int64 = 30 * 60
        /// An archive smaller than this share of the previous backup's same-named one is suspicious.
        public var smallRatio: Double = 0.10
        /// Archives the previous backup held with fewer bytes than this are not compared (noise).
        public var smallMinimumBytes: Int64 = 64 << 10
        /// Progress older than this (seconds) under a held upload lock is a hung agent.
        public var lockIdleAfter: Int64 = 3600
        public var now: Int64 = Timestamp.now()
        /// Prefix for the system paths read (/run/systemd/system, /etc/crontab, /proc): tests use a folder.
        public var systemRoot: String = ""
        public var command: LocalCommand = .system
        /// The server's time for a vault (its HTTP `Date` header), nil when it cannot be asked.
        public var serverTime: @Sendable (ResolvedVault) -> Int64? = { _ in nil }
        /// Wall-clock time (seconds) when `serverTime` answered, for the skew.
        public var localTime: @Sendable () -> Int64 = { Timestamp.now() }

        public init() {}
    }

    public let config: AgentConfig
    public let options: Options
    let journal: JournalSnapshot
    var resolved: [ResolvedVault] = []

    public init(config: AgentConfig, options: Options) {
        self.config = config
        self.options = options
        journal = JournalSnapshot(stateDir: config.stateDir)
    }

    /// Every check, in the order an admin works through them.
    public func run() -> DoctorReport {
        var checks: [DoctorCheck] = []
        var configFailed = false
        var problems: [String] = []
        for name in config.vaultNames {
            do {
                resolved.append(try config.vault(named: name))
            } catch let error as AgentError {
                problems.append("\(error.message) (hint: \(error.hint))")
            } catch {
                problems.append("vault \(name): \(error)")
            }
        }
        do { try config.validateDefaults() } catch let error as AgentError { problems.append("\(error.message) (hint: \(error.hint))") } catch {}
        if config.vaultNames.isEmpty { problems.append("\(config.path) defines no vaults") }
        if problems.isEmpty {
            checks.append(DoctorCheck("config", .pass, "\(config.path) loads; \(config.vaultNames.count) vault(s) usable"))
        } else {
            configFailed = true
            checks.append(
                DoctorCheck(
                    "config", .fail, code: ErrorCode.invalidConfig.rawValue, problems.joined(separator: "; "),
                    fix: "correct the settings named, then run `agent config check`"))
        }
        checks.append(scheduleCheck())
        checks += lastSuccessChecks()
        let local = LocalBackups(backupDir: config.backupDir)
        checks.append(stuckCheck(local))
        checks.append(smallCheck(local))
        checks.append(uploadsCheck())
        checks.append(locksCheck())
        checks.append(diskCheck())
        checks.append(clockCheck())
        checks.append(filesCheck())
        return DoctorReport(checks: checks, configFailed: configFailed)
    }

    /// "2 h 5 min": an age as an operator reads it.
    static func age(_ seconds: Int64) -> String { ClockSkew.describe(seconds) }
}
