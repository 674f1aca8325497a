import AgentSupport
import HTTPTransport

/// Tells the monitors (each distinct `ping_url` of a run's vaults) that a run began and how it
/// ended. A monitor that is down, slow (10 s per ping) or answers an error is a warning and never
/// changes the run's exit status. Nothing secret goes out: the URL itself is never logged (only
/// its host), and the bodies hold the run's summary and error codes, messages and hints.
public final class MonitorPings {
    /// One monitor and the vaults that report to it.
    struct Monitor {
        var url: String
        var vaults: [String]
        var started = false
    }

    private var monitors: [Monitor]
    public let runID: String
    /// A warning's text and its fields (`operation`, `ping`, `monitor` (the host only), `vault`).
    private let warn: (String, [String: String]) -> Void
    private let http = HTTPClient()
    public var timeout: Double = 10

    /// `urls`: each vault of the run with its effective ping URL (nil: none).
    public init(urls: [(vault: String, url: String?)], runID: String = PingURL.newRunID(), warn: @escaping (String, [String: String]) -> Void) {
        var monitors: [Monitor] = []
        for (vault, url) in urls {
            guard let url else { continue }
            if let i = monitors.firstIndex(where: { $0.url == url }) {
                if !monitors[i].vaults.contains(vault) { monitors[i].vaults.append(vault) }
            } else {
                monitors.append(Monitor(url: url, vaults: [vault]))
            }
        }
        self.monitors = monitors
        self.runID = runID
        self.warn = warn
    }

    public var isEmpty: Bool { monitors.isEmpty }

    /// `GET <url>/start` to every monitor.
    public func start() {
        for i in monitors.indices where !monitors[i].started {
            monitors[i].started = true
            send(monitors[i], .start, body: nil)
        }
    }

    /// Ends the run: per monitor, success with `summary` of its vaults, or failure with the errors
    /// of its vaults that failed. `outcomes` maps a vault to its lines and, when it failed, its error.
    public func finish(_ outcomes: [VaultOutcome], transferredLine: (_ vaults: [String]) -> String?) {
        for monitor in monitors {
            let mine = outcomes.filter { monitor.vaults.contains($0.vault) }
            let failures = mine.compactMap(\.error)
            var lines: [String] = []
            if let t = transferredLine(monitor.vaults) { lines.append(t) }
            lines += mine.map(\.line)
            for error in failures {
                lines.append("error: \(error.code): \(error.message)")
                lines.append("hint: \(error.hint)")
            }
            let body = lines.joined(separator: "\n") + "\n"
            if failures.isEmpty {
                send(monitor, .success, body: body)
            } else {
                let worst = ExitStatus.worst(failures.map(\.exitStatus))
                send(monitor, .failure, body: "exit status \(worst.rawValue)\n" + body,
                     summary: "offsite upload failed: exit status \(worst.rawValue)")
            }
        }
    }

    /// Reports a run that failed before anything was sent (a vault that cannot be used, a backup
    /// refused, an interruption before the first backup): start (unless sent) and failure, to
    /// every monitor.
    public func failBeforeStart(_ error: AgentError) {
        start()
        for monitor in monitors {
            let body = "exit status \(error.exitStatus.rawValue)\nerror: \(error.code): \(error.message)\nhint: \(error.hint)\n"
            send(monitor, .failure, body: body,
                 summary: "offsite upload failed: exit status \(error.exitStatus.rawValue), \(error.code)")
        }
    }

    /// One ping: at most `timeout` seconds, any failure a warning naming only the monitor's host.
    private func send(_ monitor: Monitor, _ kind: PingKind, body: String?, summary: String = "") {
        let base = monitor.url
        guard let url = PingURL.make(base, kind: kind, runID: runID, failureMessage: summary) else { return }
        // An Uptime Kuma push takes its status in the query of a GET; it has no use for a body.
        let body = PingURL.isUptimeKumaPush(base) ? nil : body
        var options = TransferOptions()
        options.connectTimeout = min(timeout, 10)
        options.totalTimeout = timeout
        options.stallTimeout = 0
        let bytes = body.map { PingURL.capBody($0) }
        let request = HTTPRequest(
            method: bytes == nil ? "GET" : "POST", url: url,
            headers: bytes == nil ? [] : [("Content-Type", "text/plain; charset=utf-8")],
            body: bytes.map { .bytes($0) } ?? .none, sink: .memory(limit: 4096), options: options)
        let host = Redaction.url(base)
        let what = kind == .start ? "start" : kind == .success ? "success" : "failure"
        let fields = ["operation": "ping", "ping": what, "monitor": host, "vault": monitor.vaults.joined(separator: ",")]
        switch http.execute(request) {
        case .success(let response) where (200..<300).contains(response.status):
            return
        case .success(let response):
            warn("monitor ping (\(what)) to \(host) was answered HTTP \(response.status); the run's result is unchanged", fields)
        case .failure(let error):
            // libcurl's messages name hosts and ports, never the path that holds the capability.
            let reason = error.message.replacingAll(base, with: host).replacingAll(url, with: host)
            warn("monitor ping (\(what)) to \(host) failed: \(reason); the run's result is unchanged", fields)
        }
    }
}

/// One vault's part of a run, as a monitor hears it.
public struct VaultOutcome: Sendable {
    public var vault: String
    /// "2026-11-21-0300-files -> primary: uploaded 3 files, 1.2 GiB in 4m05s".
    public var line: String
    public var error: AgentError?

    public init(vault: String, line: String, error: AgentError?) {
        self.vault = vault
        self.line = line
        self.error = error
    }
}
