#if canImport(Glibc)
    import Glibc
#endif

extension AgentConfig {
    /// What `config check` warns about: the config, a secret file or the AWS shared credentials
    /// file readable by group or others, and a vault sending requests over plain http to a host
    /// that is not this machine.
    public func securityWarnings() -> [ConfigWarning] {
        var warnings: [ConfigWarning] = []
        if let w = Self.readableByOthers(path, what: "the config file") { warnings.append(w) }
        var seen: Set<String> = [path]
        for name in vaultNames {
            guard let vault = vaultSettings[name] else { continue }
            var files: [(String, String)] = []
            if case .file(let p) = vault.secretAccessKey { files.append((p, "vault `\(name)`'s secret_access_key_file")) }
            if case .file(let p) = vault.sessionToken { files.append((p, "vault `\(name)`'s session_token_file")) }
            if let credentials = vault.credentials, credentials.hasPrefix("profile:"), let p = SharedCredentialsFile.path(environment: environment) {
                files.append((p, "the AWS shared credentials file used by vault `\(name)`"))
            }
            for (file, what) in files where seen.insert(file).inserted {
                if let w = Self.readableByOthers(file, what: what) { warnings.append(w) }
            }
            if let endpoint = vault.endpoint, let host = Self.plainHTTPHost(endpoint), !Self.isLoopback(host) {
                warnings.append(
                    ConfigWarning(
                        code: .plainHTTP,
                        message: "\(vault.location("endpoint")): vault `\(name)` uses plain http to \(host): request signatures, object keys and backup bytes cross the network unencrypted",
                        hint: "use an https:// endpoint (set ca_file for a private CA); plain http is only safe to this machine"))
            }
        }
        return warnings
    }

    /// A warning when `path` exists and its mode lets group or others read it.
    static func readableByOthers(_ path: String, what: String) -> ConfigWarning? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & 0o044 != 0 else { return nil }
        let mode = String(info.st_mode & 0o777, radix: 8)
        return ConfigWarning(
            code: .readableByOthers,
            message: "\(what) \(path) is readable by group or others (mode \(mode))",
            hint: "chmod 600 \(path) (owned by the user the agent runs as)")
    }

    /// The host of an `http://` URL (no port, IPv6 brackets removed); nil for any other scheme.
    static func plainHTTPHost(_ endpoint: String) -> String? {
        guard endpoint.lowercased().hasPrefix("http://") else { return nil }
        var rest = Substring(endpoint.dropFirst("http://".count))
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            return String(rest[rest.index(after: rest.startIndex)..<close]).lowercased()
        }
        if let colon = rest.firstIndex(of: ":") { rest = rest[..<colon] }
        return String(rest).lowercased()
    }

    /// localhost, 127.0.0.0/8 and ::1.
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host.hasSuffix(".localhost") || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
