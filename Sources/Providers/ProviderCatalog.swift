import AgentSupport

/// The provider profiles the agent knows: the ones shipped inside the binary, then any
/// `*.toml` in the override directory, which add profiles or replace shipped ones by name.
public struct ProviderCatalog: Sendable {
    /// Where an admin drops extra or replacement profiles when the config names no `providers_dir`.
    public static let defaultOverrideDirectory = "/etc/offsite-agent/providers.d"

    /// Every profile, sorted by name.
    public var profiles: [ProviderProfile]

    public init(profiles: [ProviderProfile]) {
        self.profiles = profiles.sorted { $0.name < $1.name }
    }

    /// Built-in profiles plus the override directory's. With `overrideDirectory` nil the
    /// default directory is read when it exists; a directory named explicitly must exist.
    /// A bad profile file is `INVALID_CONFIG` naming the file, line and field.
    public static func load(overrideDirectory: String?) throws -> ProviderCatalog {
        var byName: [String: ProviderProfile] = [:]
        for profile in try builtIn().profiles { byName[profile.name] = profile }

        let directory: String
        if let overrideDirectory {
            guard LocalFiles.isDirectory(overrideDirectory) else {
                throw AgentError(
                    .invalidConfig, "providers_dir \(overrideDirectory) is not a readable directory",
                    hint: "create the directory or remove `providers_dir` from the config")
            }
            directory = overrideDirectory
        } else {
            guard LocalFiles.isDirectory(defaultOverrideDirectory) else { return ProviderCatalog(profiles: Array(byName.values)) }
            directory = defaultOverrideDirectory
        }

        let entries: [String]
        do {
            entries = try LocalFiles.directoryEntries(directory)
        } catch {
            throw AgentError(.invalidConfig, "cannot list provider profiles in \(directory): \(error.reason)", hint: "make the directory readable by the agent's user")
        }
        for entry in entries where entry.hasSuffix(".toml") && !entry.hasPrefix(".") {
            let path = directory.hasSuffix("/") ? directory + entry : directory + "/" + entry
            let text: String
            do {
                text = try LocalFiles.readText(path)
            } catch {
                throw AgentError(.invalidConfig, "cannot read provider profile \(path): \(error.reason)", hint: "make the file readable by the agent's user, or remove it")
            }
            let profile = try ProviderProfile.parse(text, file: path, source: path, expectedName: String(entry.dropLast(5)))
            byName[profile.name] = profile
        }
        return ProviderCatalog(profiles: Array(byName.values))
    }

    /// Only the profiles shipped inside the binary.
    public static func builtIn() throws -> ProviderCatalog {
        var profiles: [ProviderProfile] = []
        for (name, text) in ShippedProfiles.files {
            profiles.append(try ProviderProfile.parse(text, file: "built-in profile \(name)", source: "built-in", expectedName: name))
        }
        return ProviderCatalog(profiles: profiles)
    }

    /// The profile called `name`, if any.
    public func profile(named name: String) -> ProviderProfile? {
        profiles.first { $0.name == name }
    }

    /// Every profile name, for messages.
    public var names: [String] { profiles.map(\.name) }
}
