/// Whether a provider implements S3 Object Lock, and what to tell the operator about it: how to
/// enable it on a bucket where it does, the provider's own alternative where it does not
/// (`[object_lock]` in `providers/*.toml`).
public struct ObjectLockSupport: Sendable, Equatable {
    /// The provider implements S3 Object Lock (GetObjectLockConfiguration, retention headers on
    /// PutObject and CreateMultipartUpload, PutObjectRetention, version deletion).
    public var supported: Bool
    /// With `supported`: how to turn Object Lock on for a bucket (an existing one, or only at
    /// creation). Without: the provider's own immutability feature, if any.
    public var hint: String

    public init(supported: Bool, hint: String) {
        self.supported = supported
        self.hint = hint
    }

    /// What a profile without an `[object_lock]` table gets: unknown, so not offered.
    public static let undeclared = ObjectLockSupport(
        supported: false, hint: "this provider's profile does not say it supports S3 Object Lock; add `[object_lock] supported = true` to its profile if it does")
}
