import AgentSupport
import SigV4

/// What a refused request means, read from the answer's code and message: the one mapping the
/// transfer commands (`StorageErrors`) and test-connection's diagnoses share, so they can never
/// disagree about a 403. Servers answer the same cause with different codes:
/// - a request dated too far from the server's clock: AWS and Ceph RGW `RequestTimeTooSkewed`
///   (with `<ServerTime>`/`<RequestTime>` on AWS), `RequestExpired`, `InvalidSignatureException`
///   "Signature expired: ... is now earlier than ...", rclone (gofakes3) `AccessDenied` "The
///   difference between the request time and the server's time exceeds the maximum allowed";
/// - KMS: `AccessDenied` naming `kms:GenerateDataKey`/`kms:Decrypt`, or `KMS.*` codes;
/// - Object Lock: `AccessDenied` "... object is WORM protected" / retention, `ObjectLocked`,
///   `InvalidRequest` about Object Lock or retention; a bucket without it: `InvalidRequest` "Bucket
///   is missing Object Lock Configuration", `ObjectLockConfigurationNotFoundError`.
/// A denial that names its action ("not authorized to perform: s3:PutObjectRetention") is a
/// missing permission whatever other words it holds.
public enum Refusal: Equatable, Sendable {
    case invalidAccessKey
    case signatureMismatch
    case expiredToken
    /// Every request of the account is refused (suspended, disabled).
    case accountDisabled
    /// The request's time is too far from the server's.
    case clockSkew
    case wrongRegion
    case noSuchBucket
    case invalidBucketName
    /// A KMS key this identity may not use; the action when the server names it.
    case kms(action: String?)
    /// Retention or a legal hold protects the object, or the bucket's lock settings refuse the request.
    case objectLock
    /// The bucket has no Object Lock, so a locked write or a retention request cannot be honoured.
    case objectLockDisabled
    case quota
    /// A missing permission; the action when the server names it.
    case permission(action: String?)

    /// The refusal an error answer means, or nil when it is not a refusal (server trouble,
    /// a missing key, a malformed request).
    public static func of(_ e: S3ServiceError) -> Refusal? {
        let code = e.code
        let message = e.message.lowercased()
        if isRequestTime(e) { return .clockSkew }
        switch code {
        case "InvalidAccessKeyId": return .invalidAccessKey
        case "InvalidArgument" where message.contains("credential access key"): return .invalidAccessKey
        case "SignatureDoesNotMatch", "InvalidSignatureException": return .signatureMismatch
        case "ExpiredToken", "InvalidToken", "TokenRefreshRequired": return .expiredToken
        case "AccountProblem", "AllAccessDisabled", "InvalidSecurity", "AccountDisabled": return .accountDisabled
        case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException", "InvalidRegionName", "InvalidRegion":
            return .wrongRegion
        case "NoSuchBucket": return .noSuchBucket
        case "InvalidBucketName": return .invalidBucketName
        case "QuotaExceeded", "StorageQuotaExceeded", "InsufficientStorage", "XMinioAdminBucketQuotaExceeded", "XMinioStorageFull", "StorageFull":
            return .quota
        case "ObjectLocked", "InvalidRetentionPeriod": return .objectLock
        case "ObjectLockConfigurationNotFoundError": return .objectLockDisabled
        default: break
        }
        if code.hasPrefix("KMS.") || code.hasPrefix("KMS") { return .kms(action: namedAction(in: e.message)) }
        if message.contains("the region is wrong") { return .wrongRegion }
        if e.status == 507 || message.contains("cap exceeded") || message.contains("quota exceeded") { return .quota }
        let denied = code == "AccessDenied" || (code.isEmpty && e.status == 403)
        if code == "InvalidRequest", speaksOfObjectLock(message) {
            if message.contains("missing object lock configuration") || message.contains("missing objectlockconfiguration")
                || message.contains("object lock configuration does not exist")
            {
                return .objectLockDisabled
            }
            // Content-MD5 demanded by a lock bucket is a request to comply with, not a refusal.
            if !(message.contains("content-md5") || message.contains("x-amz-checksum")) { return .objectLock }
        }
        guard denied else { return nil }
        let action = namedAction(in: e.message)
        if let action { return action.hasPrefix("kms:") ? .kms(action: action) : .permission(action: action) }
        if message.contains("kms") { return .kms(action: nil) }
        if speaksOfObjectLock(message) { return .objectLock }
        return .permission(action: action)
    }

    /// Whether a (lowercased) refusal speaks of Object Lock: retention, a legal hold, WORM.
    static func speaksOfObjectLock(_ message: String) -> Bool {
        ["object lock", "objectlock", "retention", "legal hold", "worm"].contains { message.contains($0) }
    }

    /// Whether the server refused the request because of its time, by code or by its words.
    public static func isRequestTime(_ e: S3ServiceError) -> Bool {
        switch e.code {
        case "RequestTimeTooSkewed", "RequestTimeTooSkewedException", "RequestExpired", "RequestInTheFuture": return true
        default: break
        }
        guard e.status == 403 || e.status == 400 || e.code == "AccessDenied" || e.code == "InvalidSignatureException" else { return false }
        let m = e.message.lowercased()
        return m.contains("request time and the server's time") || m.contains("request time too skewed") || m.contains("signature expired")
            || m.contains("request has expired") || m.contains("clock skew") || m.contains("time skew") || m.contains("too skewed")
            || m.contains("request is in the future")
    }

    /// The server's time from a refused answer: `<ServerTime>` where the server sends it, else its
    /// `Date` header; nil when neither is a readable time.
    public static func serverTime(_ e: S3ServiceError) -> Int64? {
        if let t = e.details["ServerTime"].flatMap(Timestamp.parseISO8601) ?? e.details["ServerTime"].flatMap(AmzDate.parseHTTPDate) { return t }
        return e.header("Date").flatMap(AmzDate.parseHTTPDate)
    }

    /// The action a denial names ("User: arn:... is not authorized to perform: s3:PutObject on
    /// resource ..."), `s3:PutObject`, `kms:GenerateDataKey`; nil when it names none.
    public static func namedAction(in message: String) -> String? {
        guard let r = message.range(ofScalars: "perform: ") else { return nil }
        let rest = message[r.upperBound...]
        let action = rest.prefix { !$0.isWhitespace && $0 != "\"" }
        return action.contains(":") ? String(action) : nil
    }
}

/// The words for a clock off from the storage server's, shared by test-connection's `clock`
/// check, the transfer commands' `CLOCK_SKEW` error and the run's one correction warning.
public enum ClockSkewText {
    public static let fix = "turn on time synchronisation: `timedatectl set-ntp true` (or start chronyd/ntpd), then check `timedatectl status`"

    /// "3 min 12 s": a duration in the units an operator reads.
    public static func describe(_ seconds: Int64) -> String {
        let s = abs(seconds)
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        if s < 86400 { return "\(s / 3600) h \((s % 3600) / 60) min" }
        return "\(s / 86400) d \((s % 86400) / 3600) h"
    }

    /// "25 min 0 s behind the storage server's (local ..., server ...)".
    public static func offset(local: Int64, server: Int64) -> String {
        let skew = local - server
        let direction = skew > 0 ? "ahead of" : "behind"
        return "\(describe(skew)) \(direction) the storage server's (local \(Timestamp.iso8601(local)), server \(Timestamp.iso8601(server)))"
    }

    /// The explanation of a request refused for its time.
    public static func refused(local: Int64, server: Int64?, said: String) -> String {
        guard let server else {
            return "The server refused the request because of its time \(said), and its answer gave no time to correct the clock by: this server's clock is off by more than the 15 min signed requests are allowed."
        }
        return "The server refused the request as too far from its own time \(said): this server's clock is \(offset(local: local, server: server)); signed requests more than 15 min off are refused."
    }
}
