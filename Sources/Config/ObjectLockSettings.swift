import AgentSupport

/// S3 Object Lock retention modes. GOVERNANCE can be lifted by a key allowed
/// `s3:BypassGovernanceRetention`; COMPLIANCE by no one until the date passes.
public enum ObjectLockMode: String, Sendable, CaseIterable {
    case governance = "GOVERNANCE"
    case compliance = "COMPLIANCE"

    /// Whether a stored mode protects at least as much as this one (COMPLIANCE covers GOVERNANCE).
    public func isCovered(by stored: String) -> Bool {
        let stored = stored.uppercased()
        return stored == rawValue || stored == ObjectLockMode.compliance.rawValue
    }
}

/// A vault's `object_lock_mode` / `object_lock_days`: every object it writes is locked with
/// that mode until upload time + days.
public struct ObjectLockSettings: Sendable, Equatable {
    public var mode: ObjectLockMode
    public var days: Int

    public static let allowedDays = 1...36_500

    public init(mode: ObjectLockMode, days: Int) {
        self.mode = mode
        self.days = days
    }

    /// The retain-until date (seconds since the epoch) of an object written at `now`.
    public func retainUntil(from now: Int64) -> Int64 { now + Int64(days) * 86_400 }
}

