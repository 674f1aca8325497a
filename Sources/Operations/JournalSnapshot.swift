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

    init(stateDir: String) {
        directory = stateDir.hasSuffix("/") ? stateDir + "journal" : stateDir + "/journal"
        for name in (DirectoryListing.names(in: directory) ?? []) where name.hasSuffix(".json") {
            let path = "\(directory)/\(name)"
            if let text = AtomicFile.read(path), let json = JSON.parse(text), let entry = JournalEntry(json: json) {
                entries.append(entry)
            } else {
                damaged.append(path)
            }
        }
        entries.sort { $0.created < $1.created }
    }

    func lockPath(_ id: String) -> String { "\(directory)/\(id).lock" }

    /// Whether another process holds the entry's lock (a shared lock is taken and dropped at
    /// once; a missing lock file means nobody does).
    func isLocked(_ id: String) -> Bool {
        let fd = open(lockPath(id), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return errno == EWOULDBLOCK
    }
}
