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

    /// Writes the entry's snapshot (its log replayed into it), then removes the old log. With
    /// `startingLog` the snapshot gets a new log token (format 3) that later records must carry and
    /// is returned; a crash between the rename and the removal leaves a log of the old token,
    /// ignored. Without, the snapshot is complete on its own and keeps the oldest format that
    /// describes it (1, or 2 with encrypted files), readable by earlier agents.
    @discardableResult
    public func save(_ entry: JournalEntry, startingLog: Bool = false) throws(AgentError) -> String? {
        var snapshot = entry
        snapshot.logToken = startingLog ? Journal.newLogToken() : nil
        do {
            try AtomicFile.write(to: path(of: entry.id), mode: 0o600) { snapshot.writeSnapshot(to: &$0) }
        } catch {
            throw AgentError(.invalidConfig, "cannot write the journal: \(error)", hint: "check free space and permissions of state_dir")
        }
        unlink(logPath(of: entry.id))
        return snapshot.logToken
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

    /// A damaged journal file, moved aside, and what was wrong with it.
    public struct Damaged: Sendable {
        public var path: String
        public var movedTo: String
        public var reason: String
    }

    /// Loads one entry; a damaged file is moved aside (never a crash), a newer agent's is left alone.
    public func load(_ id: String) -> LoadResult {
        switch loadReporting(id) {
        case .success(let result): return result
        case .failure(let damage): return .corrupt(path: damage.damaged.path, movedTo: damage.damaged.movedTo)
        }
    }

    private func loadReporting(_ id: String) -> Result<LoadResult, JournalDamage> {
        let p = path(of: id)
        guard access(p, F_OK) == 0 else { return .success(.missing) }
        let reason: String
        if let text = AtomicFile.read(p, limit: Journal.maxFileSize + 1) {
            if text.utf8.count > Journal.maxFileSize {
                reason = "larger than \(Journal.maxFileSize >> 20) MiB"
            } else {
                do throws(JSONParseError) {
                    let json = try JSON.decode(text)
                    if let entry = JournalEntry(json: json) {
                        // The id names the entry's files (lock, saves): it must be the file's own.
                        if entry.id == id { return .success(.entry(withLog(entry))) }
                        reason = "its id does not match its file name"
                    } else if let version = json["version"]?.intValue, version > JournalEntry.newestFormat {
                        return .success(.newer(path: p, version: Int(clamping: version)))
                    } else {
                        reason = "not a journal entry this agent wrote (a field is missing or out of range)"
                    }
                } catch {
                    reason = "not JSON: \(error)"
                }
            }
        } else {
            reason = "unreadable: \(String(cString: strerror(errno)))"
        }
        let aside = "\(p).corrupt-\(Timestamp.now())"
        rename(p, aside)
        return .failure(JournalDamage(damaged: Damaged(path: p, movedTo: aside, reason: reason)))
    }

    /// Largest journal snapshot read. A large entry is written one file per line (about 500 bytes a
    /// file): 1 GiB holds a backup of two million files, more than a manifest may list (issue 19;
    /// at 64 MiB an entry of some 140,000 files was taken for damage and the upload started over).
    public static let maxFileSize = 1 << 30

    /// Every entry, plus the damaged files found (moved aside) and a newer agent's (left alone).
    public func all() -> (entries: [JournalEntry], corrupt: [Damaged], newer: [AgentError]) {
        var entries: [JournalEntry] = []
        var corrupt: [Damaged] = []
        var newer: [AgentError] = []
        let names = (DirectoryListing.names(in: directory) ?? []).filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }
        for id in names.sorted() {
            switch loadReporting(id) {
            case .success(.entry(let e)): entries.append(e)
            case .success(.newer(let p, let version)): newer.append(Journal.tooNew(path: p, version: version))
            case .success: break
            case .failure(let damage): corrupt.append(damage.damaged)
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
        _ = try? save(entry)
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
                unlink(logPath(of: entry.id))
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

    /// The lock of a backup's offsite manifest in a vault, waited for up to `timeout` seconds: the
    /// runs that upload archives of one backup at once (two hooks finishing together) update its
    /// manifest one after the other, each re-reading what the other wrote. Nil on timeout, or
    /// when the lock file cannot be made.
    public func manifestLock(backup: String, vault: String, timeout: Double) -> EntryLock? {
        let p = "\(directory)/\(Journal.entryID(backup: backup, vault: vault)).manifest.lock"
        let fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        var waits = Int(max(0, timeout) * 20)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, waits > 0 else {
                close(fd)
                return nil
            }
            waits -= 1
            usleep(50_000)
        }
        return EntryLock(fd: fd)
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
        removeStaleTemporaries(of: id)
        return EntryLock(fd: fd)
    }

    /// Half-written copies of the entry left by an agent killed while saving it (`<id>.json.tmp.<pid>`):
    /// with the entry's lock held no other agent writes them, and they may hold an encrypted
    /// upload's file key that the finished entry no longer keeps.
    private func removeStaleTemporaries(of id: String) {
        let prefix = "\(id).json.tmp."
        let mine = "\(prefix)\(getpid())"
        for name in DirectoryListing.names(in: directory) ?? [] where name.hasPrefix(prefix) && name != mine {
            unlink("\(directory)/\(name)")
        }
    }
}

private struct JournalDamage: Error {
    var damaged: Journal.Damaged
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

