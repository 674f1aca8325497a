import AgentSupport
import Backups

#if canImport(Glibc)
    import Glibc
#endif

/// The backups in `backup_dir` as the backup job left them: state, type, date and archive sizes,
/// read without following symlinks and without changing anything.
struct LocalBackups {
    struct Entry {
        var id: String
        var path: String
        var type: String?
        /// `status` of backup.json; nil without one.
        var status: String?
        var inProgressMarker: Bool
        /// When it started: `created_at`, else the marker's (or the directory's) modification time.
        var date: Int64?
        var markerTime: Int64?
        var directoryTime: Int64?

        var isRunning: Bool { inProgressMarker || status == "running" || status == "pending" }
        var isCompleted: Bool { !inProgressMarker && status == "completed" }
    }

    let backupDir: String
    private(set) var entries: [Entry] = []
    /// Nil when backup_dir could be read.
    private(set) var unreadable: String?

    init(backupDir: String) {
        self.backupDir = backupDir
        guard let names = DirectoryListing.names(in: backupDir) else {
            unreadable = String(cString: strerror(errno))
            return
        }
        for name in names where !name.hasPrefix(".") {
            let path = Self.join(backupDir, name)
            guard let info = Self.lstatInfo(path), info.isDirectory else { continue }
            var entry = Entry(id: name, path: path, inProgressMarker: false, directoryTime: info.mtime)
            let marker = Self.join(path, Backup.inProgressMarker)
            if let m = Self.lstatInfo(marker) {
                entry.inProgressMarker = true
                entry.markerTime = m.mtime
            }
            if let text = AtomicFile.read(Self.join(path, Backup.manifestName), limit: 1 << 20), let json = JSON.parse(text) {
                entry.type = json["type"]?.stringValue
                entry.status = json["status"]?.stringValue
                entry.date = json["created_at"]?.stringValue.flatMap(Timestamp.parseISO8601)
            }
            if entry.date == nil { entry.date = entry.markerTime ?? entry.directoryTime }
            entries.append(entry)
        }
    }

    /// Every regular file under a backup (backup.json and the marker excluded): relative path → size.
    static func archives(of path: String) -> [String: Int64] {
        var sizes: [String: Int64] = [:]
        var stack: [(String, String, Int)] = [(path, "", 0)]
        while let (dir, relative, depth) = stack.popLast(), sizes.count < 100_000 {
            for name in DirectoryListing.names(in: dir) ?? [] {
                let full = join(dir, name)
                let rel = relative.isEmpty ? name : relative + "/" + name
                guard let info = lstatInfo(full) else { continue }
                if info.isDirectory {
                    if depth < 32 { stack.append((full, rel, depth + 1)) }
                } else if info.isRegular, rel != Backup.manifestName, rel != Backup.inProgressMarker {
                    sizes[rel] = info.size
                }
            }
        }
        return sizes
    }

    struct Info {
        var isDirectory: Bool
        var isRegular: Bool
        var size: Int64
        var mtime: Int64
    }

    static func lstatInfo(_ path: String) -> Info? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        let kind = st.st_mode & S_IFMT
        return Info(isDirectory: kind == S_IFDIR, isRegular: kind == S_IFREG, size: Int64(st.st_size), mtime: Int64(st.st_mtim.tv_sec))
    }

    static func join(_ a: String, _ b: String) -> String { a.hasSuffix("/") ? a + b : a + "/" + b }
}
