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

/// A stable machine code (SPEC 3 and 7). Codes are added, never renamed.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible, Codable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ raw: String) { self.rawValue = raw }
    public var description: String { rawValue }

    // Configuration (exit 3)
    public static let missingConfig = ErrorCode("MISSING_CONFIG")
    public static let invalidConfig = ErrorCode("INVALID_CONFIG")
    // Backup refusals (exit 4)
    public static let noDir = ErrorCode("NO_DIR")
    public static let notCompleted = ErrorCode("NOT_COMPLETED")
    public static let snapshot = ErrorCode("SNAPSHOT")
    public static let invalidPath = ErrorCode("INVALID_PATH")
    public static let emptyBackup = ErrorCode("EMPTY_BACKUP")
    public static let sourceChanged = ErrorCode("SOURCE_CHANGED")
    public static let unreadable = ErrorCode("UNREADABLE")
    // Run outcomes
    public static let locked = ErrorCode("LOCKED")
    public static let retriesExhausted = ErrorCode("RETRIES_EXHAUSTED")
    public static let interrupted = ErrorCode("INTERRUPTED")
    public static let rejected = ErrorCode("REJECTED")
    public static let verifyMismatch = ErrorCode("VERIFY_MISMATCH")
    public static let restoreExists = ErrorCode("RESTORE_EXISTS")
    public static let usage = ErrorCode("USAGE")
    public static let notFound = ErrorCode("NOT_FOUND")
    // Encryption (SPEC 9, issue 14)
    public static let identityRequired = ErrorCode("IDENTITY_REQUIRED")
    public static let identityMismatch = ErrorCode("IDENTITY_MISMATCH")
    public static let outputExists = ErrorCode("OUTPUT_EXISTS")
    // Storage refusals (exit 5), SPEC 7
    public static let dnsFailure = ErrorCode("DNS_FAILURE")
    public static let connectionRefused = ErrorCode("CONNECTION_REFUSED")
    public static let connectionTimeout = ErrorCode("CONNECTION_TIMEOUT")
    public static let tlsError = ErrorCode("TLS_ERROR")
    public static let clockSkew = ErrorCode("CLOCK_SKEW")
    public static let invalidAccessKey = ErrorCode("INVALID_ACCESS_KEY")
    public static let signatureMismatch = ErrorCode("SIGNATURE_MISMATCH")
    public static let expiredToken = ErrorCode("EXPIRED_TOKEN")
    public static let wrongRegion = ErrorCode("WRONG_REGION")
    public static let noSuchBucket = ErrorCode("NO_SUCH_BUCKET")
    public static let bucketAccessDenied = ErrorCode("BUCKET_ACCESS_DENIED")
    public static let invalidBucketName = ErrorCode("INVALID_BUCKET_NAME")
    public static let permissionDenied = ErrorCode("PERMISSION_DENIED")
    public static let quotaExceeded = ErrorCode("QUOTA_EXCEEDED")
    /// The server refused a change because of Object Lock retention or a legal hold.
    public static let objectLocked = ErrorCode("OBJECT_LOCKED")

    /// The exit status this code ends the process with.
    public var exitStatus: ExitStatus {
        switch self {
        case .missingConfig, .invalidConfig, .identityRequired: return .config
        case .noDir, .notCompleted, .snapshot, .invalidPath, .emptyBackup, .sourceChanged, .unreadable:
            return .backup
        case .locked, .retriesExhausted, .interrupted: return .tempFail
        case .usage: return .usage
        case .rejected, .verifyMismatch, .restoreExists, .notFound, .identityMismatch, .outputExists: return .failed
        default: return .storage
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

    public init(_ code: ErrorCode, _ message: String, hint: String, exit: ExitStatus? = nil, attempts: [String] = []) {
        self.code = code
        self.message = message
        self.hint = hint
        self.exitStatus = exit ?? code.exitStatus
        self.attempts = attempts
    }

    public var description: String { "\(code): \(message)" }
}
