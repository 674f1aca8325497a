import AgentSupport
import Hashing

#if canImport(Glibc)
    import Glibc
#endif

/// The journal directory `state_dir/journal/`: one JSON file per entry, written atomically,
/// mode 0600; a lock file per entry held with `flock` while an agent works on it.
public struct Journal: Sendable {
    public let directory: String

    public init(stateDir: String) {
        directory = stateDir.hasSuffix("/") ? stateDir + "journal" : stateDir + "/journal"
    }

    /// The entry id of a backup's upload to a vault: stable, so a re-run finds it.
    public static func entryID(backup: String, vault: String, singleFilePath: String? = nil) -> String {
        var material = "\(vault)\u{0}\(backup)"
        if let singleFilePath { material += "\u{0}\(singleFilePath)" }
        return String(Digest.sha256(material).hexString.prefix(16))
    }

    public func path(of id: String) -> String { "\(directory)/\(id).json" }

    public func prepare() throws(AgentError) {
        guard AtomicFile.makeDirectories(directory, mode: 0o700) else {
            throw AgentError(
                .invalidConfig, "cannot create the journal directory \(directory): \(String(cString: strerror(errno)))",
                hint: "set state_dir in the config to a directory the agent's user can write (default /var/lib/offsite-agent)")
        }
    }

    public func save(_ entry: JournalEntry) throws(AgentError) {
        do {
            try AtomicFile.write(entry.json().serialized(pretty: true) + "\n", to: path(of: entry.id), mode: 0o600)
        } catch {
            throw AgentError(.invalidConfig, "cannot write the journal: \(error)", hint: "check free space and permissions of state_dir")
        }
    }

    public enum LoadResult {
        case missing
        case entry(JournalEntry)
        /// Unreadable or damaged: moved aside to `movedTo`.
        case corrupt(path: String, movedTo: String)
        /// Written by a newer agent in a format this one does not know: left as it is.
        case newer(path: String, version: Int)
    }

    /// `JOURNAL_TOO_NEW`: the file at `path` is in journal format `version`, newer than this agent reads.
    public static func tooNew(path: String, version: Int) -> AgentError {
        AgentError(
            .journalTooNew,
            "the journal file \(path) is in format \(version), written by a newer agent; this agent reads formats 1 to \(JournalEntry.newestFormat) and leaves it untouched",
            hint: "install the newer agent again (its unfinished upload resumes there), or remove the file to give up that upload", exit: .config)
    }

    /// Loads one entry; a damaged file is moved aside (never a crash), a newer agent's is left alone.
    public func load(_ id: String) -> LoadResult {
        let p = path(of: id)
        guard access(p, F_OK) == 0 else { return .missing }
        if let text = AtomicFile.read(p), let json = JSON.parse(text) {
            if let entry = JournalEntry(json: json) { return .entry(entry) }
            if let version = json["version"]?.intValue, version > JournalEntry.newestFormat { return .newer(path: p, version: Int(version)) }
        }
        let aside = "\(p).corrupt-\(Timestamp.now())"
        rename(p, aside)
        return .corrupt(path: p, movedTo: aside)
    }

    /// Every entry, plus the damaged files found (moved aside) and a newer agent's (left alone).
    public func all() -> (entries: [JournalEntry], corrupt: [(path: String, movedTo: String)], newer: [AgentError]) {
        var entries: [JournalEntry] = []
        var corrupt: [(String, String)] = []
        var newer: [AgentError] = []
        let names = (DirectoryListing.names(in: directory) ?? []).filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }
        for id in names.sorted() {
            switch load(id) {
            case .entry(let e): entries.append(e)
            case .corrupt(let p, let moved): corrupt.append((p, moved))
            case .newer(let p, let version): newer.append(Journal.tooNew(path: p, version: version))
            case .missing: break
            }
        }
        return (entries.sorted { $0.created < $1.created }, corrupt, newer)
    }

    /// Marks an entry failed (when its lock is free), so `resume --all` stops retrying it.
    public func markFailed(_ id: String, reason: String) {
        guard let held = lock(id), case .entry(var entry) = load(id) else { return }
        entry.state = .failed
        entry.lastError = reason
        entry.updated = Timestamp.now()
        try? save(entry)
        withExtendedLifetime(held) {}
    }

    /// Deletes completed and aborted entries older than `maxAge` seconds.
    public func prune(olderThan maxAge: Int64, now: Int64) {
        for entry in all().entries where entry.isFinished && now - entry.updated > maxAge {
            // Only under the entry's lock, and the lock file stays: an agent holding it keeps
            // the same inode, so no second agent can lock a fresh one beside it.
            guard let held = lock(entry.id) else { continue }
            if case .entry(let current) = load(entry.id), current.isFinished, now - current.updated > maxAge {
                unlink(path(of: entry.id))
            }
            withExtendedLifetime(held) {}
        }
        removeOrphanedTemporaryFiles()
    }

    /// A journal write killed before its rename leaves `<id>.json.tmp.<pid>` behind, which may hold
    /// an unfinished encrypted upload's file key long after the upload completed: removed once the
    /// process that wrote it is gone (a live pid, even a reused one, keeps its file).
    func removeOrphanedTemporaryFiles() {
        for name in DirectoryListing.names(in: directory) ?? [] {
            let parts = name.split(separator: ".")
            guard parts.count >= 4, parts[parts.count - 3] == "json", parts[parts.count - 2] == "tmp", let pid = Int32(parts[parts.count - 1]), pid > 0
            else { continue }
            if kill(pid, 0) != 0, errno == ESRCH { unlink("\(directory)/\(name)") }
        }
    }

    /// Takes the entry's lock without waiting; nil when another agent holds it. The lock is
    /// released when the returned descriptor is closed or the process dies.
    public func lock(_ id: String) -> EntryLock? {
        let p = "\(directory)/\(id).lock"
        let fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            return nil
        }
        return EntryLock(fd: fd)
    }
}

/// A held journal-entry lock.
public final class EntryLock {
    private let fd: Int32
    init(fd: Int32) { self.fd = fd }
    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

extension ErrorCode {
    /// A journal file (upload or restore) in a format newer than this agent reads: left untouched.
    public static let journalTooNew = ErrorCode("JOURNAL_TOO_NEW")
}
