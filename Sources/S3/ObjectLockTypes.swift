import AgentSupport

/// A bucket's Object Lock configuration (GetObjectLockConfiguration).
public struct BucketObjectLock: Sendable, Equatable {
    /// `<ObjectLockEnabled>Enabled</ObjectLockEnabled>`: objects may carry retention.
    public var enabled: Bool
    /// The bucket's default retention applied to objects written without one, if set.
    public var defaultMode: String?
    public var defaultDays: Int?
    public var defaultYears: Int?

    public init(enabled: Bool, defaultMode: String? = nil, defaultDays: Int? = nil, defaultYears: Int? = nil) {
        self.enabled = enabled
        self.defaultMode = defaultMode
        self.defaultDays = defaultDays
        self.defaultYears = defaultYears
    }

    public var hasDefaultRetention: Bool { defaultMode != nil && (defaultDays != nil || defaultYears != nil) }

    /// "COMPLIANCE for 30 days", nil without a default retention.
    public var defaultRetentionDescription: String? {
        guard let mode = defaultMode else { return nil }
        if let days = defaultDays { return "\(mode) for \(days) day\(days == 1 ? "" : "s")" }
        if let years = defaultYears { return "\(mode) for \(years) year\(years == 1 ? "" : "s")" }
        return nil
    }

    /// The default retention in days (years counted as 365), for "how long" messages.
    public var defaultRetentionDays: Int? { defaultDays ?? defaultYears.map { $0 * 365 } }

    /// Reads the answer leniently: a server that ignores `?object-lock` and answers something
    /// else (a listing) has no Object Lock.
    static func parse(_ root: XMLElement?) -> BucketObjectLock {
        guard let root, root.name == "ObjectLockConfiguration" else { return BucketObjectLock(enabled: false) }
        let enabled = root.value("ObjectLockEnabled")?.lowercased() == "enabled"
        let retention = root.child("Rule")?.child("DefaultRetention")
        let mode = retention?.value("Mode").flatMap { $0.isEmpty ? nil : $0.uppercased() }
        return BucketObjectLock(
            enabled: enabled, defaultMode: mode, defaultDays: retention?.value("Days").flatMap { Int($0) },
            defaultYears: retention?.value("Years").flatMap { Int($0) })
    }
}

/// An object's retention: mode and retain-until date.
public struct ObjectRetention: Sendable, Equatable {
    /// `GOVERNANCE` or `COMPLIANCE` as the server wrote it.
    public var mode: String
    /// The date as the server sent it (RFC 3339).
    public var retainUntilText: String
    /// Seconds since the epoch, nil when the server's date could not be read.
    public var retainUntil: Int64? { Timestamp.parseISO8601(retainUntilText) }

    public init(mode: String, retainUntilText: String) {
        self.mode = mode
        self.retainUntilText = retainUntilText
    }

    /// The retention a HEAD answer shows (only to a key allowed s3:GetObjectRetention).
    public static func from(_ info: ObjectInfo) -> ObjectRetention? {
        guard let mode = info.header("x-amz-object-lock-mode"), !mode.isEmpty,
            let until = info.header("x-amz-object-lock-retain-until-date"), !until.isEmpty
        else { return nil }
        return ObjectRetention(mode: mode.uppercased(), retainUntilText: until)
    }
}

/// One entry of ListObjectVersions: an object version or a delete marker.
public struct ObjectVersion: Sendable, Equatable {
    public var key: String
    public var versionID: String
    public var isLatest: Bool
    public var isDeleteMarker: Bool
    public var size: Int64
    public var lastModified: String
}
