/// The process exit statuses of SPEC 3.
public enum ExitStatus: Int32, Sendable, Comparable {
    case success = 0
    case failed = 1
    case usage = 2
    case config = 3
    case backup = 4
    case storage = 5
    case tempFail = 75

    /// Severity order used when several vaults or files end differently: 1, then 5, then 75.
    var severity: Int {
        switch self {
        case .success: return 0
        case .tempFail: return 1
        case .storage: return 2
        case .failed: return 3
        case .backup: return 4
        case .config: return 5
        case .usage: return 6
        }
    }

    public static func < (lhs: ExitStatus, rhs: ExitStatus) -> Bool { lhs.severity < rhs.severity }

    /// The most serious of several outcomes.
    public static func worst<S: Sequence>(_ statuses: S) -> ExitStatus where S.Element == ExitStatus {
        statuses.max() ?? .success
    }
}

/// A stable machine code (SPEC 3 and 7): the closed set of every code the agent reports, with
/// the exit status each ends the process with, in this one place. Codes are added, never renamed;
/// README's "Error codes and fixes" table lists every one (a unit test holds it to that).
public enum ErrorCode: String, CaseIterable, Hashable, Sendable, CustomStringConvertible, Codable {
    // Configuration (exit 3)
    case missingConfig = "MISSING_CONFIG"
    case invalidConfig = "INVALID_CONFIG"
    /// A journal file (upload or restore) in a format newer than this agent reads: left untouched.
    case journalTooNew = "JOURNAL_TOO_NEW"
    // Backup refusals (exit 4)
    case noDir = "NO_DIR"
    case notCompleted = "NOT_COMPLETED"
    case snapshot = "SNAPSHOT"
    case invalidPath = "INVALID_PATH"
    case emptyBackup = "EMPTY_BACKUP"
    case sourceChanged = "SOURCE_CHANGED"
    case unreadable = "UNREADABLE"
    // Run outcomes
    case locked = "LOCKED"
    case retriesExhausted = "RETRIES_EXHAUSTED"
    case interrupted = "INTERRUPTED"
    case rejected = "REJECTED"
    case verifyMismatch = "VERIFY_MISMATCH"
    case restoreExists = "RESTORE_EXISTS"
    /// The restore could not write into its target (permissions, a directory in the way).
    case restoreWriteFailed = "RESTORE_WRITE_FAILED"
    /// The restore target has no room for what the backup still needs.
    case noSpace = "NO_SPACE"
    case usage = "USAGE"
    case notFound = "NOT_FOUND"
    /// A failure the agent did not foresee: a bug to report.
    case internalError = "INTERNAL"
    /// A run that ended with a non-zero status (the monitor ping's body), or a failed check without a code of its own.
    case failed = "FAILED"
    // Encryption (SPEC 9, issue 14)
    case identityRequired = "IDENTITY_REQUIRED"
    case identityMismatch = "IDENTITY_MISMATCH"
    case outputExists = "OUTPUT_EXISTS"
    // Storage refusals (exit 5), SPEC 7
    case dnsFailure = "DNS_FAILURE"
    case connectionRefused = "CONNECTION_REFUSED"
    case connectionTimeout = "CONNECTION_TIMEOUT"
    case tlsError = "TLS_ERROR"
    case clockSkew = "CLOCK_SKEW"
    case invalidAccessKey = "INVALID_ACCESS_KEY"
    case signatureMismatch = "SIGNATURE_MISMATCH"
    case expiredToken = "EXPIRED_TOKEN"
    case wrongRegion = "WRONG_REGION"
    case noSuchBucket = "NO_SUCH_BUCKET"
    case bucketAccessDenied = "BUCKET_ACCESS_DENIED"
    case invalidBucketName = "INVALID_BUCKET_NAME"
    case permissionDenied = "PERMISSION_DENIED"
    case quotaExceeded = "QUOTA_EXCEEDED"
    /// The server refused a change because of Object Lock retention or a legal hold.
    case objectLocked = "OBJECT_LOCKED"
    /// The vault asks for Object Lock and the bucket does not have it; nothing was sent.
    case objectLockDisabled = "OBJECT_LOCK_DISABLED"
    /// The server did not keep an object's retention and it could not be set.
    case objectLockNotApplied = "OBJECT_LOCK_NOT_APPLIED"
    // Warnings (test-connection, config check): reported, never an exit status of their own.
    /// The bucket has Object Lock and requires Content-MD5 (or an x-amz-checksum-* header) on
    /// every upload; uploads comply on their own.
    case objectLock = "OBJECT_LOCK"
    /// An identity that decrypts the vault's copies is readable on this server.
    case identityOnServer = "IDENTITY_ON_SERVER"
    /// The config or a secret file is readable by group or others.
    case readableByOthers = "READABLE_BY_OTHERS"
    /// Plain http to an endpoint that is not this host.
    case plainHTTP = "PLAIN_HTTP"

    public var description: String { rawValue }

    /// Codes only ever reported as warnings (their checks do not fail a command).
    public var isWarning: Bool { [.objectLock, .identityOnServer, .readableByOthers, .plainHTTP].contains(self) }

    /// The exit status this code ends the process with. A few codes end it otherwise where SPEC 3
    /// says so (a network failure after upload's retries: 75; a bucket name refused offline: 3);
    /// those callers pass `exit:` to `AgentError`.
    public var exitStatus: ExitStatus {
        switch self {
        case .missingConfig, .invalidConfig, .identityRequired, .journalTooNew: return .config
        case .noDir, .notCompleted, .snapshot, .invalidPath, .emptyBackup, .sourceChanged, .unreadable:
            return .backup
        case .locked, .retriesExhausted, .interrupted: return .tempFail
        case .usage: return .usage
        case .rejected, .verifyMismatch, .restoreExists, .restoreWriteFailed, .noSpace, .notFound, .identityMismatch, .outputExists,
            .internalError, .failed:
            return .failed
        case .dnsFailure, .connectionRefused, .connectionTimeout, .tlsError, .clockSkew, .invalidAccessKey, .signatureMismatch, .expiredToken,
            .wrongRegion, .noSuchBucket, .bucketAccessDenied, .invalidBucketName, .permissionDenied, .quotaExceeded, .objectLocked,
            .objectLockDisabled, .objectLockNotApplied:
            return .storage
        case .objectLock, .identityOnServer, .readableByOthers, .plainHTTP: return .success
        }
    }
}

/// An error an operator reads: a stable code, a message saying what happened, and a hint
/// naming the fix (pgBackRest's HINT lines).
public struct AgentError: Error, Sendable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var hint: String
    public var exitStatus: ExitStatus
    /// Earlier attempts' errors, kept when a retry budget runs out.
    public var attempts: [String]
    /// The typed error this one reports, when there is one (a `TOMLParseError`, say): for code and
    /// tests to match on its type and fields rather than on the message's words. Never printed.
    public var cause: (any Error & Sendable)?

    public init(
        _ code: ErrorCode, _ message: String, hint: String, exit: ExitStatus? = nil, attempts: [String] = [], cause: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.hint = hint
        self.exitStatus = exit ?? code.exitStatus
        self.attempts = attempts
        self.cause = cause
    }

    public var description: String { "\(code): \(message)" }
}
