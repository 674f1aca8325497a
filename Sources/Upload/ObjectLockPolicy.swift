import AgentSupport
import Config
import Logging
import Providers
import S3
import Vault

/// What a vault with `object_lock_mode` / `object_lock_days` asks of every write, and the checks
/// that prove it was done: the bucket has Object Lock before anything is sent, every object is
/// written with the mode and a retain-until date, and each stored object is read back locked
/// (set with PutObjectRetention where the server ignored the headers, as moto and Ceph RGW do on
/// multipart uploads). The engine consults it; it keeps no state of its own.
public struct ObjectLockPolicy: Sendable {
    public var settings: ObjectLockSettings
    public var vault: String
    public var bucket: String
    /// The profile's words on enabling Object Lock for this provider.
    public var support: ObjectLockSupport
    public var terms: ProviderTerms

    public init(settings: ObjectLockSettings, vault: String, bucket: String, support: ObjectLockSupport, terms: ProviderTerms) {
        self.settings = settings
        self.vault = vault
        self.bucket = bucket
        self.support = support
        self.terms = terms
    }

    public var mode: String { settings.mode.rawValue }

    /// The headers of a write at `now`, and the retain-until date they ask for.
    public func headers(now: Int64) -> (headers: [(name: String, value: String)], retainUntil: Int64) {
        let until = settings.retainUntil(from: now)
        return (S3Client.objectLockHeaders(mode: mode, retainUntil: until), until)
    }

    /// Before anything is sent: the bucket must have Object Lock enabled. Returns its
    /// configuration (the default retention, if any, is logged).
    @discardableResult
    public func preflight(_ client: S3Client, logger: Logger) throws(AgentError) -> BucketObjectLock {
        let config: BucketObjectLock
        do {
            config = try client.getObjectLockConfiguration()
        } catch {
            if let refused = refusal(error, action: "s3:GetBucketObjectLockConfiguration", denied: { said in
                AgentError(
                    .permissionDenied, "vault \(vault) asks for Object Lock, but this key may not read bucket \(bucket)'s Object Lock configuration (\(said)); nothing was sent",
                    hint: "grant s3:GetBucketObjectLockConfiguration: \(terms.permission("s3:GetBucketObjectLockConfiguration"))")
            }) {
                throw refused
            }
            if let s = error.failure.serviceError, s.status == 501 || s.code == "NotImplemented" {
                throw disabled("the server does not implement GetObjectLockConfiguration (\(s.code.isEmpty ? "HTTP \(s.status)" : s.code))")
            }
            throw StorageErrors.agentError(error, vault: vault, bucket: bucket, action: "s3:GetBucketObjectLockConfiguration")
        }
        guard config.enabled else { throw disabled("bucket \(bucket) does not have Object Lock enabled") }
        if let retention = config.defaultRetentionDescription {
            logger.info(
                "vault \(vault): bucket \(bucket) has Object Lock with a default retention of \(retention); uploads set \(mode) for \(settings.days) days on every object",
                metadata: ["vault": .string(vault), "bucket": .string(bucket), "mode": .string(mode), "days": .stringConvertible(settings.days), "default_retention": .string(retention)])
        }
        return config
    }

    /// The fields of a "retention set" event: the object, and the mode and date it now holds.
    static func retentionMetadata(_ key: String, _ retention: ObjectRetention) -> Logger.Metadata {
        ["operation": "PutObjectRetention", "key": .string(key), "mode": .string(retention.mode), "retain_until": .string(retention.retainUntilText)]
    }

    private func disabled(_ why: String) -> AgentError {
        AgentError(
            .objectLockDisabled,
            "vault \(vault) asks for Object Lock (object_lock_mode = \"\(mode)\"), but \(why); nothing was sent, so no copy stands unprotected",
            hint: support.hint.replacingAll("BUCKET", with: bucket))
    }

    /// After a file is stored: its retention must be `mode` (or COMPLIANCE) until at least
    /// `retainUntil`. `head` is the verification HEAD's answer, which shows the retention to a key
    /// allowed s3:GetObjectRetention. Where it does not, the retention is set with
    /// PutObjectRetention (servers that ignore the headers on multipart uploads, or a key that
    /// cannot see it) and read back: HEAD, else GetObjectRetention, whose refusal names the missing
    /// permission rather than calling the lock absent. If it cannot be set: OBJECT_LOCK_NOT_APPLIED.
    /// Returns the retention the object now has, and whether this call had to set it.
    @discardableResult
    public func confirm(key: String, head: ObjectInfo?, retainUntil: Int64, client: S3Client, logger: Logger) throws(AgentError) -> (retention: ObjectRetention, setHere: Bool) {
        if let shown = head.flatMap(ObjectRetention.from), satisfies(shown, retainUntil) { return (shown, false) }
        let before = head.flatMap(ObjectRetention.from).map { "\($0.mode) until \($0.retainUntilText)" } ?? "no retention shown"
        var putFailure: S3Error?
        do {
            try client.putObjectRetention(key: key, mode: mode, retainUntil: retainUntil)
        } catch {
            putFailure = error
        }
        if putFailure == nil, let info = try? client.headObject(key: key), let shown = ObjectRetention.from(info), satisfies(shown, retainUntil) {
            logger.info(
                "\(key): stored with \(before); retention set afterwards with PutObjectRetention (\(shown.mode) until \(shown.retainUntilText))",
                metadata: Self.retentionMetadata(key, shown))
            return (shown, true)
        }
        let stored: ObjectRetention?
        do {
            stored = try client.getObjectRetention(key: key)
        } catch {
            if let refused = refusal(error, action: "s3:GetObjectRetention", denied: { said in
                AgentError(
                    .permissionDenied, "vault \(vault): \(key) was stored, but this key may not read its retention (GetObjectRetention denied: \(said)), so its lock cannot be checked",
                    hint: "grant s3:GetObjectRetention: \(terms.permission("s3:GetObjectRetention")); then run `agent upload --force` for this backup")
            }) {
                throw refused
            }
            throw notApplied(key, retainUntil, what: before, because: putFailure.map { "PutObjectRetention failed: \($0.failure)" } ?? "its retention cannot be read back (\(error.failure))", denied: Self.isMissingPermission(putFailure))
        }
        if let stored, satisfies(stored, retainUntil) {
            if putFailure == nil {
                logger.info("\(key): retention set with PutObjectRetention (\(stored.mode) until \(stored.retainUntilText))", metadata: Self.retentionMetadata(key, stored))
            }
            return (stored, putFailure == nil)
        }
        let what = stored.map { "\($0.mode) until \($0.retainUntilText)" } ?? "no retention"
        throw notApplied(
            key, retainUntil, what: what,
            because: putFailure.map { "PutObjectRetention failed: \($0.failure)" } ?? "the server accepted PutObjectRetention but does not keep it",
            denied: Self.isMissingPermission(putFailure))
    }

    /// A refused read of the lock settings or of a retention: `denied` (PERMISSION_DENIED naming
    /// the permission, given the server's code) only when the answer means a missing permission;
    /// any other refusal — a request time the server will not accept, a bad key, a wrong region —
    /// as every transfer command names it (issue 20: a time refusal is never a permission); nil
    /// when the answer is no refusal.
    func refusal(_ error: S3Error, action: String, denied: (_ said: String) -> AgentError) -> AgentError? {
        guard let s = error.failure.serviceError, let refusal = Refusal.of(s) else { return nil }
        if case .permission = refusal { return denied(s.code.isEmpty ? "HTTP \(s.status)" : s.code) }
        return StorageErrors.agentError(error, vault: vault, bucket: bucket, action: action)
    }

    static func isMissingPermission(_ error: S3Error?) -> Bool {
        guard let s = error?.failure.serviceError, case .permission = Refusal.of(s) else { return false }
        return true
    }

    /// Whether a stored retention is at least what was asked: the mode (COMPLIANCE covers
    /// GOVERNANCE) until `retainUntil` or later (servers may drop fractions of a second).
    public func satisfies(_ retention: ObjectRetention, _ retainUntil: Int64) -> Bool {
        guard settings.mode.isCovered(by: retention.mode), let until = retention.retainUntil else { return false }
        return until >= retainUntil - 1
    }

    private func notApplied(_ key: String, _ retainUntil: Int64, what: String, because: String, denied: Bool) -> AgentError {
        AgentError(
            .objectLockNotApplied,
            "vault \(vault): \(key) was stored with \(what) instead of \(mode) until \(Timestamp.iso8601(retainUntil)), and \(because); the backup is not reported uploaded",
            hint: denied
                ? "grant s3:PutObjectRetention: \(terms.permission("s3:PutObjectRetention")); then run `agent upload --force` for this backup"
                : "the server does not keep Object Lock retention on this kind of upload; set a default retention on bucket \(bucket) (it applies to every new object) or use a provider that applies it, then run `agent upload --force`")
    }
}
