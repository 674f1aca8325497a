import AgentSupport

/// What the agent has done with one vault, accumulated across runs: the last attempt and
/// success, and running totals. Kept in `state_dir/metrics.json`.
public struct VaultMetrics: Sendable, Equatable {
    /// Seconds since the epoch; 0 when there was none yet.
    public var lastSuccess: Int64 = 0
    public var lastAttempt: Int64 = 0
    public var lastAttemptOK = false
    public var uploadedBytes: Int64 = 0
    public var uploadedFiles: Int64 = 0
    public var retries: Int64 = 0
    public var stalls: Int64 = 0
    public var resumes: Int64 = 0
    /// The last `test-connection` against the vault: when, and whether every check passed.
    public var lastConnectionTest: Int64 = 0
    public var lastConnectionTestOK = false
    /// This server's clock minus the storage server's, as last seen (a corrected skew, or
    /// test-connection's clock check), in seconds; 0 until one is seen.
    public var clockSkew: Int64 = 0

    public init() {}

    init(json: JSON) {
        lastSuccess = json["last_success"]?.intValue ?? 0
        lastAttempt = json["last_attempt"]?.intValue ?? 0
        lastAttemptOK = json["last_attempt_ok"]?.boolValue ?? false
        uploadedBytes = json["uploaded_bytes"]?.intValue ?? 0
        uploadedFiles = json["uploaded_files"]?.intValue ?? 0
        retries = json["retries"]?.intValue ?? 0
        stalls = json["stalls"]?.intValue ?? 0
        resumes = json["resumes"]?.intValue ?? 0
        lastConnectionTest = json["last_connection_test"]?.intValue ?? 0
        lastConnectionTestOK = json["last_connection_test_ok"]?.boolValue ?? false
        clockSkew = json["clock_skew_seconds"]?.intValue ?? 0
    }

    var json: JSON {
        .object([
            ("last_success", .int(lastSuccess)), ("last_attempt", .int(lastAttempt)), ("last_attempt_ok", .bool(lastAttemptOK)),
            ("uploaded_bytes", .int(uploadedBytes)), ("uploaded_files", .int(uploadedFiles)),
            ("retries", .int(retries)), ("stalls", .int(stalls)), ("resumes", .int(resumes)),
            ("last_connection_test", .int(lastConnectionTest)), ("last_connection_test_ok", .bool(lastConnectionTestOK)),
            ("clock_skew_seconds", .int(clockSkew)),
        ])
    }
}
