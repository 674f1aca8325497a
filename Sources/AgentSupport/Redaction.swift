/// Secrets never reach output: access key ids are shown by their last 4 characters only.
public enum Redaction {
    public static func accessKeyID(_ id: String) -> String {
        guard id.count > 4 else { return "****" }
        return "****" + String(id.suffix(4))
    }

    public static let secret = "<redacted>"

    /// A URL that is a capability (a monitor's ping URL): scheme and host only,
    /// `https://hc-ping.com/<redacted>`.
    public static func url(_ url: String) -> String {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return secret }
        let scheme = url[..<colon]
        var host = url[url.index(colon, offsetBy: 3)...].prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" })
        if let at = host.lastIndex(of: "@") { host = host[host.index(after: at)...] }
        return "\(scheme)://\(host)/\(secret)"
    }
}
