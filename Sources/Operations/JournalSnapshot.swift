import AgentSupport
import Upload

#if canImport(Glibc)
    import Glibc
#endif

/// The upload journal as it is on disk, read without changing anything: unlike `Journal.all()`,
/// a damaged entry is only reported, never moved aside, and no lock is created.
struct JournalSnapshot {
    let directory: String
    private(set) var entries: [JournalEntry] = []
    private(set) var damaged: [String] = []
    /// Files in a journal format newer than this agent reads: neither damaged nor set aside by any command.
    private(set) var newer: [String] = []

    init(stateDir: String) {
        directory = stateDir.hasSuffix("/") ? stateDir + "journal" : stateDir + "/journal"
        let journal = Journal(stateDir: stateDir)
        for name in (DirectoryListing.names(in: directory) ?? []) where name.hasSuffix(".json") {
            let path = "\(directory)/\(name)"
            if let text = AtomicFile.read(path, limit: Journal.maxFileSize), let json = JSON.parse(text) {
                if let entry = JournalEntry(json: json) {
                    entries.append(journal.withLog(entry))
                    continue
                }
                if let version = json["version"]?.intValue, version > JournalEntry.newestFormat {
                    newer.append(path)
                    continue
                }
            }
            damaged.append(path)
        }
        entries.sort { $0.created < $1.created }
    }

    func lockPath(_ id: String) -> String { "\(directory)/\(id).lock" }

    /// The pid holding the entry's lock, from `holders` (`Doctor.flockHolders`, /proc/locks by
    /// inode); nil when nobody does or the lock file is missing. No lock is taken, not even a
    /// shared one for an instant: that would make a starting upload's `LOCK_EX|LOCK_NB` fail.
    func lockHolder(_ id: String, holders: [UInt64: Int]) -> Int? {
        var st = stat()
        guard stat(lockPath(id), &st) == 0 else { return nil }
        return holders[UInt64(st.st_ino)]
    }
}
