import SigV4

/// The URLs of the Healthchecks ping protocol (https://healthchecks.io/docs/http_api/), built from
/// one configured `ping_url`: `<url>/start` when a run begins, `<url>` on success, `<url>/fail` on
/// failure, each with `?rid=<uuid>` so the monitor pairs start and end and measures the run.
/// A query string in the configured URL (`?create=1`, an Uptime Kuma push's `?status=up`) is kept.
public enum PingKind: Sendable, Equatable {
    case start, success, failure

    var suffix: String {
        switch self {
        case .start: return "/start"
        case .success: return ""
        case .failure: return "/fail"
        }
    }
}

public enum PingURL {
    /// `base` with the kind's path suffix and the run id; nil when the monitor has no such ping
    /// (an Uptime Kuma push monitor has no start ping).
    ///
    /// An Uptime Kuma push URL (`…/api/push/<token>`) speaks Kuma's protocol instead of
    /// Healthchecks': one path, `status=up` on success and `status=down` with a short `msg` on
    /// failure (Kuma answers `/start` and `/fail` with 404).
    public static func make(_ base: String, kind: PingKind, runID: String, failureMessage: String = "") -> String? {
        var path = Substring(base)
        var query: Substring = ""
        if let q = base.firstIndex(of: "?") {
            path = base[..<q]
            query = base[base.index(after: q)...]
        }
        if isUptimeKumaPush(base) {
            switch kind {
            case .start:
                return nil
            case .success:
                return path + "?" + replacing(["status": "up"], in: query)
            case .failure:
                return path + "?" + replacing(["status": "down", "msg": SigV4Signer.uriEncode(failureMessage, encodeSlash: true)], in: query)
            }
        }
        while path.hasSuffix("/"), !path.hasSuffix("://") { path = path.dropLast() }
        let params = (query.isEmpty ? "" : query + "&") + "rid=" + runID
        return path + kind.suffix + "?" + params
    }

    /// True for an Uptime Kuma push monitor's URL (its path holds `/api/push/`).
    public static func isUptimeKumaPush(_ base: String) -> Bool {
        let path = base.split(separator: "?", maxSplits: 1).first ?? ""
        return path.contains("/api/push/")
    }

    /// `query` with the given parameters set (replaced where present, appended otherwise; an
    /// empty value drops the parameter).
    private static func replacing(_ values: [String: String], in query: Substring) -> String {
        var pairs: [String] = []
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let name = String(pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0])
            if values[name] == nil { pairs.append(String(pair)) }
        }
        for name in values.keys.sorted() where !(values[name] ?? "").isEmpty {
            pairs.append(name + "=" + (values[name] ?? ""))
        }
        return pairs.joined(separator: "&")
    }

    /// A random (version 4) UUID for `rid`.
    public static func newRunID() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
    }

    /// At most `limit` bytes of `text` (Healthchecks keeps 100 kB of a ping's body), cut at a
    /// character boundary with a note saying so.
    public static func capBody(_ text: String, limit: Int = 100_000) -> [UInt8] {
        let bytes = Array(text.utf8)
        guard bytes.count > limit else { return bytes }
        let note = Array("\n[truncated: the agent's log has the rest]\n".utf8)
        var cut = max(0, limit - note.count)
        // Back off continuation bytes (10xxxxxx) so no character is split.
        while cut > 0, bytes[cut] & 0xC0 == 0x80 { cut -= 1 }
        return Array(bytes[..<cut]) + note
    }
}
