import AgentSupport
import Config
import HTTPTransport
import Providers
import S3
import SigV4

/// Runs the connection checks of SPEC 7 against one vault, in order, and stops at the first
/// failure that makes the later checks meaningless. Never repeats a failed authentication:
/// the signed requests that can be refused for the credentials are sent once each
/// (`performOnce`). Probe objects and uploads are always removed. Confined to one thread.
public final class ConnectionTest {
    /// How the test is run.
    public struct Options: Sendable {
        public var configPath: String?
        public var environment: [String: String]
        public var vault: String?
        /// Skip `write`, `multipart` and `delete`.
        public var noWrite: Bool

        public init(configPath: String?, environment: [String: String], vault: String?, noWrite: Bool) {
            self.configPath = configPath
            self.environment = environment
            self.vault = vault
            self.noWrite = noWrite
        }
    }

    let options: Options
    let http: HTTPClient
    /// Seconds since the epoch, for the clock check (injected in tests).
    public var wallClock: () -> Double = wallClockSeconds

    var results: [CheckID: CheckResult] = [:]
    /// The configuration as the `config` check loaded it (nil when it did not load), for the
    /// caller's log and metrics: read once per test.
    public private(set) var config: AgentConfig?
    var stopReason: String?
    var report = ConnectionReport(vault: "", provider: "", endpoint: "", region: "", bucket: "", checks: [])

    // Set once the config resolved.
    var vault: ResolvedVault!
    var context: DiagnosisContext!
    /// What `config check` would warn about (a config file others can read, plain http).
    var configWarnings: [ConfigWarning] = []
    var client: S3Client!
    var transfer = TransferOptions()

    /// Both HEAD and the listing were denied; the probe write decides what it means.
    var bucketDenial: S3ServiceError?
    /// The probe object's key, once written (it must be removed).
    var probeKey: String?
    /// The bucket demanded Content-MD5 (Object Lock): every later upload request carries it.
    var contentMD5Required = false
    /// Probe objects stored by this run (their versions are removed by the `lock` check).
    var probeKeysWritten: [String] = []
    /// The bucket's Object Lock configuration and what the probes showed (`lock`).
    var lockProbe = LockProbeState()

    public init(options: Options, http: HTTPClient) {
        self.options = options
        self.http = http
    }

    /// Runs every check and returns the report.
    public func run() -> ConnectionReport {
        if runConfig(), runNetwork(), runAuthenticated() {
            readLockConfiguration()
            runWrites()
            if stopReason == nil { runLock(probeKeys: probeKeysWritten) }
            // Last, and only when nothing failed: a failure skips every later check.
            if stopReason == nil, !results.values.contains(where: { $0.status == .fail }) { _ = runEncryption() }
        }
        return finish()
    }

    // MARK: recording

    func record(_ id: CheckID, _ status: CheckStatus, ms: Int = 0, code: ErrorCode? = nil, explanation: String = "", fix: String = "") {
        results[id] = CheckResult(id: id, status: status, code: code, explanation: explanation, fix: fix, ms: ms)
    }

    func record(_ finding: Finding, ms: Int = 0) {
        results[finding.check] = CheckResult(
            id: finding.check, status: finding.status, code: finding.code, explanation: finding.explanation, fix: finding.fix, ms: ms)
    }

    /// Records a failure that ends the test: checks not yet decided become `skip`.
    func stop(_ finding: Finding, ms: Int = 0) {
        record(finding, ms: ms)
        stopReason = stopReason ?? "the \(finding.check.rawValue) check failed"
    }

    func finish() -> ConnectionReport {
        report.checks = CheckID.allCases.map { id in
            results[id] ?? CheckResult(id: id, status: .skip, explanation: "not run: \(stopReason ?? "not needed")")
        }
        return report
    }

    static func millis(since start: Double) -> Int { Int(((monotonicSeconds() - start) * 1000).rounded()) }

    // MARK: config

    /// `config`: the vault resolves, its bucket name is one a provider can have.
    func runConfig() -> Bool {
        let start = monotonicSeconds()
        do {
            let config = try AgentConfig.load(path: options.configPath, environment: options.environment)
            self.config = config
            report.vault = options.vault ?? config.defaultVault ?? config.defaultVaults.first ?? ""
            let v = try config.vault(named: options.vault)
            vault = v
            context = DiagnosisContext(vault: v, configPath: config.path)
            configWarnings = config.securityWarnings()
        } catch let error as AgentError {
            stop(Finding(.config, .fail, error.code, error.message, fix: error.hint), ms: Self.millis(since: start))
            return false
        } catch {
            stop(Finding(.config, .fail, .invalidConfig, "\(error)", fix: "fix the config (`agent config check`)"), ms: Self.millis(since: start))
            return false
        }
        report = ConnectionReport(vault: vault.name, provider: vault.profile.name, endpoint: vault.endpoint, region: vault.region, bucket: vault.bucket, checks: [])

        if let rule = BucketNameRules.violation(vault.bucket) {
            stop(
                Finding(
                    .config, .fail, .invalidBucketName, "Bucket \"\(vault.bucket)\" cannot exist at any provider: \(rule).",
                    fix: "set `bucket` in \(context.section) to the bucket's exact name as shown in \(vault.profile.terms.bucketConsole)"),
                ms: Self.millis(since: start))
            return false
        }
        guard let location = S3Location(endpoint: vault.endpoint, bucket: vault.bucket, region: vault.region, pathStyle: vault.pathStyle) else {
            stop(
                Finding(.config, .fail, .invalidConfig, "Endpoint \(vault.endpoint) is not an http(s) URL.", fix: "set `endpoint = \"https://host[:port]\"` in \(context.section)"),
                ms: Self.millis(since: start))
            return false
        }
        transfer.connectTimeout = vault.connectTimeout
        transfer.stallTimeout = vault.stallTimeout
        transfer.stallMinRate = vault.stallMinRate
        transfer.caFile = vault.caFile
        transfer.totalTimeout = max(30, vault.connectTimeout * 3)
        client = S3Client(
            http: http, location: location,
            credentials: SigningCredentials(
                accessKeyID: vault.credentials.accessKeyID, secretAccessKey: vault.credentials.secretAccessKey, sessionToken: vault.credentials.sessionToken),
            options: transfer, retry: RetryPolicy(maxAttempts: 2, baseDelay: 0.2, maxDelay: 1))
        client.clock = { [unowned self] in Int64(self.wallClock()) }
        if let first = configWarnings.first {
            // What `config check` warns about (a config others can read...) is a warning here too.
            record(
                .config, .warn, ms: Self.millis(since: start), code: first.code,
                explanation: configWarnings.map { "\($0.code): \($0.message)." }.joined(separator: " "),
                fix: configWarnings.map(\.hint).joined(separator: "; "))
            return true
        }
        record(
            .config, .pass, ms: Self.millis(since: start),
            explanation:
                "\(vault.profile.displayName), \(vault.pathStyle ? "path" : "virtual-hosted")-style, prefix \"\(vault.prefix)\", access key \(vault.credentials.redactedAccessKeyID) from \(vault.credentials.source)."
        )
        return true
    }

    // MARK: dns, connect, tls

    /// `dns`, `connect`, `tls`: one connection to the host requests go to, without a request.
    func runNetwork() -> Bool {
        let location = client.location
        let url = location.url(rawPath: "/", query: [])
        let host = hostName(location.hostHeader)
        let port = location.port ?? (location.scheme == "https" ? 443 : 80)
        let probe = ConnectionProbe.probe(url: url, options: transfer)
        let lookupMs = Int((probe.nameLookupTime * 1000).rounded())
        let connectMs = Int((max(0, probe.connectTime - probe.nameLookupTime) * 1000).rounded())
        let tlsMs = Int((max(0, probe.tlsTime - probe.connectTime) * 1000).rounded())
        if let error = probe.error {
            let finding = TransportDiagnosis.finding(error, host: host, port: port, verifyResult: probe.certificateVerifyResult, context: context)
            if finding.check > .dns { recordResolved(host: host, probe: probe, ms: lookupMs) }
            if finding.check > .connect { record(.connect, .pass, ms: connectMs, explanation: "TCP connection to \(host):\(port) established.") }
            stop(finding, ms: finding.check == .dns ? lookupMs : finding.check == .connect ? connectMs : tlsMs)
            return false
        }
        recordResolved(host: host, probe: probe, ms: lookupMs)
        record(.connect, .pass, ms: connectMs, explanation: "TCP connection to \(host):\(port) established.")
        if location.scheme == "https" {
            record(.tls, .pass, ms: tlsMs, explanation: "TLS handshake with \(host) done and its certificate verified\(vault.caFile.map { " against \($0)" } ?? "").")
        } else {
            record(.tls, .skip, explanation: "The endpoint is plain http: no TLS (traffic, though signed, is readable on the way).")
        }
        return true
    }

    func recordResolved(host: String, probe: ConnectionProbeResult, ms: Int) {
        let isAddress = host.first == "[" || host.allSatisfy { $0.isNumber || $0 == "." }
        let said = isAddress ? "\(host) is an address: nothing to resolve." : "\(host) resolves\(probe.remoteAddress.isEmpty ? "" : " to \(probe.remoteAddress)")."
        record(.dns, .pass, ms: ms, explanation: said)
    }

    /// The host of a Host header value (no port).
    func hostName(_ hostHeader: String) -> String {
        if hostHeader.hasPrefix("["), let close = hostHeader.firstIndex(of: "]") { return String(hostHeader[...close]) }
        if let colon = hostHeader.lastIndex(of: ":") { return String(hostHeader[..<colon]) }
        return hostHeader
    }
}
