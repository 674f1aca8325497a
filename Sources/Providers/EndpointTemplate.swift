import AgentSupport

/// Endpoint templates such as `https://{account_id}.r2.cloudflarestorage.com` and the base URLs
/// they render to (`scheme://host[:port]`, no path, no trailing slash).
package enum EndpointTemplate {
    /// The placeholder names in `template`, in order; nil when a brace is unbalanced or a name is not `[a-z0-9_]+`.
    package static func placeholders(_ template: String) -> [String]? {
        var names: [String] = []
        var current: String?
        for ch in template {
            switch ch {
            case "{":
                guard current == nil else { return nil }
                current = ""
            case "}":
                guard let name = current, !name.isEmpty else { return nil }
                names.append(name)
                current = nil
            default:
                if current != nil {
                    guard ch.isASCII, ch.isLowercase || ch.isNumber || ch == "_" else { return nil }
                    current!.append(ch)
                }
            }
        }
        return current == nil ? names : nil
    }

    /// Fills `{region}` and the setting placeholders, then checks the result is a base URL.
    static func render(_ template: String, region: String, settings: [String: String], provider: ProviderProfile) throws -> String {
        var out = template
        for name in placeholders(template) ?? [] {
            let value: String
            if name == "region" {
                guard !region.isEmpty else {
                    throw AgentError(
                        .invalidConfig, "provider `\(provider.name)` needs a region to build its endpoint \(template)",
                        hint: "set `region = \"...\"` in the vault. \(provider.regionHint)")
                }
                value = region
            } else {
                guard let setting = settings[name], !setting.isEmpty else {
                    throw AgentError(
                        .invalidConfig, "provider `\(provider.name)` needs the vault setting `\(name)` to build its endpoint \(template)",
                        hint: "set `\(name) = \"...\"` in the vault")
                }
                value = setting
            }
            guard isHostLabelText(value) else {
                throw AgentError(
                    .invalidConfig, "`\(name)` = \"\(value)\" cannot be part of a host name (endpoint \(template))",
                    hint: "use only letters, digits, '-' and '.' in `\(name)`")
            }
            out = out.replacingAll("{\(name)}", with: value)
        }
        guard let url = normalizedBaseURL(out) else {
            throw AgentError(
                .invalidConfig, "provider `\(provider.name)` endpoint template \(template) renders to \(out), which is not a base URL",
                hint: "fix `endpoint` in \(provider.source)")
        }
        return url
    }

    /// `scheme://host[:port]` for an http(s) URL with no path beyond `/`, no query and no user
    /// info; nil for anything else.
    package static func normalizedBaseURL(_ text: String) -> String? {
        let lower = text.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") { scheme = "https" } else if lower.hasPrefix("http://") { scheme = "http" } else { return nil }
        var rest = Substring(text.dropFirst(scheme.count + 3))
        while rest.hasSuffix("/") { rest.removeLast() }
        guard !rest.isEmpty, !rest.contains(where: { "/?#@ \t".contains($0) }) else { return nil }
        var host = rest
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            host = rest[..<colon]
            guard let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { return nil }
        } else {
            guard !host.isEmpty, isHostLabelText(String(host)) else { return nil }
        }
        return "\(scheme)://\(rest.lowercased())"
    }

    private static func isHostLabelText(_ s: String) -> Bool {
        !s.isEmpty && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") }
    }
}
