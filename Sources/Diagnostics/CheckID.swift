/// The connection test's checks (SPEC 7), in the order they run.
public enum CheckID: String, Sendable, CaseIterable, Comparable {
    case config, dns, connect, tls, clock, credentials, region, bucket, list, write, multipart, delete, lock, encryption

    public static func < (lhs: CheckID, rhs: CheckID) -> Bool { lhs.order < rhs.order }

    var order: Int { CheckID.allCases.firstIndex(of: self) ?? 0 }

    /// What the check establishes, for the human table's skip reasons.
    var summary: String {
        switch self {
        case .config: return "the vault's configuration"
        case .encryption: return "client-side encryption"
        case .dns: return "name resolution"
        case .connect: return "the TCP connection"
        case .tls: return "the TLS handshake"
        case .clock: return "the clock"
        case .credentials: return "the credentials"
        case .region: return "the region"
        case .bucket: return "the bucket"
        case .list: return "listing"
        case .write: return "writing"
        case .multipart: return "multipart uploads"
        case .delete: return "deleting"
        case .lock: return "Object Lock and what this key could erase"
        }
    }
}

/// A check's outcome.
public enum CheckStatus: String, Sendable {
    case pass, warn, fail, skip
}
