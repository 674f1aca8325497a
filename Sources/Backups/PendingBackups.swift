import AgentSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `upload --pending`: every completed backup in backup_dir. Completed means a `backup.json`
/// that says so and no `.in-progress` marker: a folder without `backup.json` may still be being
/// written (or its job died), so it is left out as NOT_COMPLETED. Each one left out is named.
extension BackupResolver {
    public func pendingBackups() throws(AgentError) -> (backups: [Backup], skipped: [(id: String, error: AgentError)]) {
        guard let names = DirectoryListing.names(in: backupDir) else {
            throw AgentError(.noDir, "the backup directory \(backupDir) does not exist", hint: "set backup_dir in the config")
        }
        var found: [Backup] = []
        var skipped: [(id: String, error: AgentError)] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let directory = backupDir.hasSuffix("/") ? backupDir + name : backupDir + "/" + name
            let hasManifest = access(directory + "/" + Backup.manifestName, F_OK) == 0
            do {
                let backup = try resolve(name)
                guard !backup.singleFile, hasManifest else {
                    skipped.append(
                        (name, AgentError(.notCompleted, "no \(Backup.manifestName) says it is completed (the backup job may still be writing it)", hint: "")))
                    continue
                }
                found.append(backup)
            } catch {
                skipped.append((name, error))
            }
        }
        return (found, skipped)
    }
}
