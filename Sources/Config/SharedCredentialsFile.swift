import AgentSupport
import Providers

/// The AWS shared credentials file (`$AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`):
/// INI sections named after profiles holding `aws_access_key_id`, `aws_secret_access_key` and
/// optionally `aws_session_token`.
package enum SharedCredentialsFile {
    static func path(environment: [String: String]) -> String? {
        if let path = environment["AWS_SHARED_CREDENTIALS_FILE"], !path.isEmpty { return path }
        return LocalFiles.homeDirectory(environment: environment).map { $0 + "/.aws/credentials" }
    }

    /// The credentials of profile `name`. `context` starts error messages ("file:line: vault `x`").
    static func credentials(profile name: String, environment: [String: String], context: String) throws -> VaultCredentials {
        guard let path = path(environment: environment) else {
            throw AgentError(.invalidConfig, "\(context): no home directory to find ~/.aws/credentials in", hint: "set AWS_SHARED_CREDENTIALS_FILE to the credentials file")
        }
        let text: String
        do {
            text = try LocalFiles.readText(path)
        } catch {
            throw AgentError(
                .invalidConfig, "\(context): cannot read the AWS credentials file \(path): \(error.reason)",
                hint: "create it (`aws configure --profile \(name)`) or set AWS_SHARED_CREDENTIALS_FILE")
        }
        guard let section = parse(text)[name] else {
            throw AgentError(
                .invalidConfig, "\(context): the AWS credentials file \(path) has no [\(name)] profile",
                hint: "add a [\(name)] section to \(path), or correct the profile name in `credentials`")
        }
        func value(_ key: String) throws -> String {
            guard let value = section[key], !value.isEmpty else {
                throw AgentError(.invalidConfig, "\(context): profile [\(name)] in \(path) has no \(key)", hint: "add `\(key) = ...` to the [\(name)] section of \(path)")
            }
            return value
        }
        return VaultCredentials(
            accessKeyID: try value("aws_access_key_id"), secretAccessKey: try value("aws_secret_access_key"),
            sessionToken: section["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 },
            source: "profile:\(name)")
    }

    /// Section name -> (lower-cased key -> value). Comments start with `#` or `;`.
    package static func parse(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let line = String(rawLine).trimming(" \t")
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                let name = String(line.dropFirst().dropLast()).trimming(" \t")
                current = name
                if sections[name] == nil { sections[name] = [:] }
                continue
            }
            guard let current, let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals]).trimming(" \t").lowercased()
            let value = String(line[line.index(after: equals)...]).trimming(" \t")
            sections[current]?[key] = value
        }
        return sections
    }
}
