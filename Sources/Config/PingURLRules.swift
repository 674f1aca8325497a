/// What a usable monitor ping URL looks like (Healthchecks, Uptime Kuma push, any HTTP monitor).
public enum PingURLRules {
    /// Why `url` cannot be used, or nil. Never quotes the URL: it is a capability.
    public static func problem(_ url: String) -> String? {
        let lower = url.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else { return "is not an http:// or https:// URL" }
        let rest = url.drop(while: { $0 != "/" }).dropFirst(2)
        let host = rest.prefix(while: { $0 != "/" && $0 != "?" })
        if host.isEmpty || host.hasPrefix(":") { return "has no host name" }
        if url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || $0 == "\"" || $0 == "<" || $0 == ">" || $0 == "\\" }) {
            return "contains spaces, quotes or control characters (percent-encode them)"
        }
        if url.contains("#") { return "contains a #fragment, which is never sent to the monitor" }
        if url.utf8.count > 2048 { return "is longer than 2048 bytes" }
        return nil
    }
}
