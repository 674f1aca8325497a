import AgentSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Records each run's outcome per vault and rewrites the Prometheus textfile (`metrics_file`).
/// Totals accumulate across runs in `state_dir/metrics.json`; a lock file keeps two agents
/// finishing at once from losing each other's counts. Both files are written atomically.
public struct MetricsRecorder: Sendable {
    /// Why the metrics could not be recorded (the run itself is not affected).
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let stateDir: String
    /// The textfile node_exporter reads, e.g. /var/lib/node_exporter/textfile/offsite_agent.prom.
    public let file: String

    public init(stateDir: String, file: String) {
        self.stateDir = stateDir.hasSuffix("/") && stateDir.count > 1 ? String(stateDir.dropLast()) : stateDir
        self.file = file
    }

    var statePath: String { stateDir + "/metrics.json" }
    var lockPath: String { stateDir + "/metrics.lock" }

    /// Adds one run against `vault`: `ok` its outcome, `bytes`/`files` what it uploaded,
    /// `retries`/`stalls` what it met, `resumed` whether it finished an interrupted upload.
    public func record(
        vault: String, ok: Bool, bytes: Int64 = 0, files: Int = 0, retries: Int = 0, stalls: Int = 0, resumed: Bool = false,
        clockSkew: Int64? = nil, at time: Int64 = Timestamp.now()
    ) throws(Failure) {
        try update(vault: vault) { metrics in
            if let clockSkew { metrics.clockSkew = clockSkew }
            metrics.lastAttempt = time
            metrics.lastAttemptOK = ok
            if ok { metrics.lastSuccess = time }
            metrics.uploadedBytes += max(0, bytes)
            metrics.uploadedFiles += Int64(max(0, files))
            metrics.retries += Int64(max(0, retries))
            metrics.stalls += Int64(max(0, stalls))
            if resumed { metrics.resumes += 1 }
        }
    }

    /// Records a `test-connection` run; it does not count as an upload attempt.
    public func recordConnectionTest(vault: String, ok: Bool, clockSkew: Int64? = nil, at time: Int64 = Timestamp.now()) throws(Failure) {
        try update(vault: vault) { metrics in
            if let clockSkew { metrics.clockSkew = clockSkew }
            metrics.lastConnectionTest = time
            metrics.lastConnectionTestOK = ok
        }
    }

    private func update(vault: String, _ change: (inout VaultMetrics) -> Void) throws(Failure) {
        guard AtomicFile.makeDirectories(stateDir, mode: 0o700) else {
            throw Failure(description: "cannot create the state directory \(stateDir): \(String(cString: strerror(errno)))")
        }
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw Failure(description: "cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        defer { close(lock) }
        var locked = flock(lock, LOCK_EX)
        while locked != 0 && errno == EINTR { locked = flock(lock, LOCK_EX) }
        guard locked == 0 else { throw Failure(description: "cannot lock \(lockPath): \(String(cString: strerror(errno)))") }

        var vaults = load()
        var metrics = vaults[vault] ?? VaultMetrics()
        change(&metrics)
        vaults[vault] = metrics

        let state = JSON.object([("vaults", .object(vaults.keys.sorted().map { ($0, vaults[$0]?.json ?? .null) }))])
        let directory = AtomicFile.directory(of: file)
        guard AtomicFile.makeDirectories(directory, mode: 0o755) else {
            throw Failure(description: "cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        do {
            try AtomicFile.write(state.serialized(pretty: true) + "\n", to: statePath, mode: 0o600)
            // Readable by node_exporter, which usually runs as its own user; it holds no secret.
            try AtomicFile.write(PrometheusText.render(vaults), to: file, mode: 0o644)
        } catch {
            throw Failure(description: "cannot write metrics: \(error)")
        }
    }

    /// The accumulated metrics per vault (empty when there are none yet or the file is unreadable).
    public func load() -> [String: VaultMetrics] {
        guard let text = AtomicFile.read(statePath), let vaults = JSON.parse(text)?["vaults"]?.objectValue else { return [:] }
        var result: [String: VaultMetrics] = [:]
        for (name, value) in vaults { result[name] = VaultMetrics(json: value) }
        return result
    }
}
