import AgentSupport
import Vault

/// Where a restore may write: every manifest path must stay inside the target directory.
public enum RestorePaths {
    /// The folder inside the target that holds the restore journal and the `.partial` files.
    public static let stagingName = ".offsite-restore"

    /// Why a manifest path cannot be restored into a target (nil: it is a plain relative path).
    /// Only canonical relative paths pass: no leading `/`, no `..`, `.` or empty component,
    /// no NUL, nothing under the agent's own staging folder.
    public static func problem(with path: String) -> String? {
        if path.isEmpty { return "an empty path" }
        if path.hasPrefix("/") { return "an absolute path" }
        if path.utf8.contains(0) { return "a NUL byte in the path" }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        if components.contains("..") { return "a `..` component that climbs out of the target" }
        if components.contains(where: { $0.isEmpty || $0 == "." }) { return "an empty or `.` component" }
        if components.first.map(String.init) == stagingName { return "the agent's own staging folder \(stagingName)" }
        return nil
    }

    /// INVALID_PATH for the first manifest path that would land outside the target, or that
    /// appears twice; checked before anything is written.
    public static func validate(_ manifest: OffsiteManifest, vault: String) throws(AgentError) {
        var seen = Set<String>()
        for file in manifest.files {
            if let problem = problem(with: file.path) {
                throw AgentError(
                    .invalidPath, "the manifest of backup \(manifest.backup) in vault \(vault) names \(quoted(file.path)): \(problem); nothing was restored",
                    hint: "the manifest was not written by this agent or was altered; inspect \(manifest.backup)/offsite-manifest.json in the vault")
            }
            if !seen.insert(file.path).inserted {
                throw AgentError(
                    .invalidPath, "the manifest of backup \(manifest.backup) in vault \(vault) names \(quoted(file.path)) twice; nothing was restored",
                    hint: "the manifest was not written by this agent or was altered; inspect \(manifest.backup)/offsite-manifest.json in the vault")
            }
        }
    }

    /// A backup id names one folder: no `/`, not `.` or `..`.
    public static func validateBackupID(_ id: String) throws(AgentError) {
        if id.isEmpty || id == "." || id == ".." || id.contains("/") || id.utf8.contains(0) {
            throw AgentError(
                .invalidPath, "\(quoted(id)) is not a backup id (an id names one folder: no `/`, not `.` or `..`)", hint: "run `agent list` for the backup ids the vault holds")
        }
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingNUL() + "\""
    }
}

extension String {
    fileprivate func replacingNUL() -> String {
        String(decoding: utf8.map { $0 == 0 ? UInt8(ascii: "?") : $0 }, as: UTF8.self)
    }
}
