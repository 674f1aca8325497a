import AgentSupport
import CCurlShim
import Config
import Logging
import S3

#if canImport(Glibc)
    import Glibc
#endif

/// What every command that talks to a vault sets up: config, logging, signals.
enum Runtime {
    nonisolated(unsafe) static var loggingBootstrapped = false
    /// `--log-level`, recorded by `GlobalOptions.apply()`.
    nonisolated(unsafe) static var logLevel: Logger.Level = .info
    /// `--log-format`, recorded by `GlobalOptions.apply()`; nil: the config's `log_format`.
    nonisolated(unsafe) static var logFormat: LogFormat?

    static var environment: [String: String] { ProcessEnvironment.current() }

    static func loadConfig(_ global: GlobalOptions) throws -> AgentConfig {
        try AgentConfig.load(path: global.config, environment: environment)
    }

    /// swift-log to stderr and `state_dir/agent.log`; SIGINT/SIGTERM caught for a clean stop.
    static func start(config: AgentConfig, quiet: Bool = false) -> Logger {
        if !loggingBootstrapped {
            LoggingSystem.bootstrap { AgentLogHandler(label: $0) }
            loggingBootstrapped = true
        }
        AgentLogHandler.quietStderr = quiet
        AgentLogHandler.defaultLevel = logLevel
        openLogFile(config)
        agent_signals_install()
        var logger = Logger(label: "offsite-agent")
        logger.logLevel = logLevel
        // The one warning of a run whose requests had to be signed with a server's time.
        S3Client.onClockSkew = { [logger] offset, endpoint, said in
            let way = offset > 0 ? "behind" : "ahead of"
            logger.warning(
                "CLOCK_SKEW: this server's clock is \(ClockSkewText.describe(offset)) \(way) the storage server's at \(endpoint) (it answered \(said)); requests are signed with the server's time for the rest of this run. Fix: \(ClockSkewText.fix)",
                metadata: ["code": "CLOCK_SKEW", "endpoint": .string(endpoint), "offset_seconds": .stringConvertible(offset), "answer": .string(said)])
        }
        return logger
    }

    /// `state_dir/agent.log` in `--log-format`, else the config's `log_format`.
    static func openLogFile(_ config: AgentConfig) {
        AgentLogHandler.openLogFile(stateDir: config.stateDir, format: logFormat ?? config.logFormat)
    }

    static var interrupted: Bool { agent_signals_caught() != 0 }

    /// Backoff base for retries; tests shorten it through the environment.
    static var retryBaseDelay: Double {
        if let text = environment["OFFSITE_AGENT_RETRY_BASE"], let v = Double(text), v >= 0 { return v }
        return 0.5
    }

    static func hostname() -> String { LocalHost.name() }
}
