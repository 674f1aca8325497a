import AgentSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Turns what the user named (a backup id, a backup directory, or one archive file) into a
/// checked `Backup`, or a refusal with its code (SPEC 3). Nothing is sent before this passes.
public struct BackupResolver: Sendable {
    public var backupDir: String
    /// The current directory, for relative paths.
    public var workingDirectory: String

    public init(backupDir: String, workingDirectory: String? = nil) {
        self.backupDir = backupDir
        self.workingDirectory = workingDirectory ?? BackupResolver.currentDirectory()
    }

    static func currentDirectory() -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buf, buf.count) != nil else { return "/" }
        return String(cString: buf)
    }

    /// Resolves and checks one backup argument.
    public func resolve(_ argument: String) throws(AgentError) -> Backup {
        guard !argument.isEmpty else {
            throw AgentError(.invalidPath, "an empty backup name was given", hint: "name a backup id (a directory under \(backupDir)) or a path inside it")
        }
        guard let root = BackupResolver.realPath(backupDir) else {
            throw AgentError(.noDir, "the backup directory \(backupDir) does not exist", hint: "set backup_dir in the config to where your backups are written, or create it")
        }
        // A backup id has no "/": a directory directly under backup_dir.
        let lexical: String
        if !argument.contains("/") {
            if argument == "." || argument == ".." {
                throw AgentError(.invalidPath, "\(argument) is not a backup id", hint: "name a backup id (a directory under \(backupDir))")
            }
            lexical = join(backupDir, argument)
        } else if argument.hasPrefix("/") {
            lexical = argument
        } else {
            lexical = join(workingDirectory, argument)
        }
        // INVALID_PATH is checked before existence: lexically first, then after symlinks.
        let normalized = BackupResolver.normalize(lexical)
        let lexicalRoot = BackupResolver.normalize(backupDir)
        let inside = isInside(normalized, root: lexicalRoot) || isInside(normalized, root: root)
        if !inside {
            throw AgentError(
                .invalidPath, "\(argument) resolves to \(normalized), outside the backup directory \(root)",
                hint: "only backups inside backup_dir (\(root)) can be uploaded; check the path or backup_dir in the config")
        }
        guard let real = BackupResolver.realPath(normalized) else {
            throw AgentError(.noDir, "the backup \(argument) does not exist (\(normalized))", hint: "check the backup id with `ls \(root)`; the backup job may not have run, or the server was rebuilt")
        }
        guard isInside(real, root: root), real != root else {
            throw AgentError(
                .invalidPath, "\(argument) resolves through a symlink to \(real), outside the backup directory \(root)",
                hint: "only files inside backup_dir (\(root)) can be uploaded; replace the symlink with the file itself")
        }
        var st = stat()
        guard stat(real, &st) == 0 else {
            throw AgentError(.noDir, "the backup \(argument) does not exist", hint: "check the path")
        }
        let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
        // The backup directory is the first component under backup_dir.
        let relativeToRoot = String(real.dropFirst(root.count + 1))
        let firstComponent = String(relativeToRoot.split(separator: "/", maxSplits: 1).first ?? "")
        let backupDirectory = join(root, firstComponent)
        if !isDirectory && backupDirectory == real {
            // A single archive directly in backup_dir: its own backup, named after the file.
            return try singleFileBackup(id: firstComponent, directory: root, path: real, relative: firstComponent, checkManifest: false)
        }
        let manifest = try checkState(directory: backupDirectory, argument: argument)
        if !isDirectory {
            let relative = String(real.dropFirst(backupDirectory.count + 1))
            var backup = try singleFileBackup(id: firstComponent, directory: backupDirectory, path: real, relative: relative, checkManifest: true)
            backup.manifest = manifest
            return backup
        }
        guard real == backupDirectory else {
            throw AgentError(
                .invalidPath, "\(argument) is a folder inside the backup \(firstComponent), not a backup",
                hint: "upload the whole backup (`agent upload \(firstComponent)`) or one archive file in it")
        }
        var files: [BackupFile] = []
        var manifestFile: BackupFile?
        var visited = Set<DirectoryID>()
        try walk(directory: backupDirectory, relative: "", root: root, visited: &visited, into: &files)
        files.sort { $0.relativePath < $1.relativePath }
        if let index = files.firstIndex(where: { $0.relativePath == Backup.manifestName }) {
            manifestFile = files.remove(at: index)
        }
        files.removeAll { $0.relativePath == Backup.inProgressMarker || $0.relativePath == Backup.offsiteManifestName }
        if files.isEmpty {
            throw AgentError(
                .emptyBackup, "the backup \(firstComponent) holds no archive files",
                hint: "check that the backup job wrote its archives into \(backupDirectory)")
        }
        var dirInfo = stat()
        let directoryTime = stat(backupDirectory, &dirInfo) == 0 ? Int64(dirInfo.st_mtim.tv_sec) : nil
        return Backup(
            id: firstComponent, directory: backupDirectory, files: files, manifestFile: manifestFile, manifest: manifest, singleFile: false,
            directoryTime: directoryTime)
    }

    private func singleFileBackup(id: String, directory: String, path: String, relative: String, checkManifest: Bool) throws(AgentError) -> Backup {
        try checkReadable(path)
        guard let identity = FileIdentity.of(path: path) else {
            throw AgentError(.noDir, "\(path) does not exist", hint: "check the path")
        }
        let file = BackupFile(relativePath: relative, absolutePath: path, identity: identity)
        // Dated by its backup directory's time, or its own for an archive directly in backup_dir.
        var info = stat()
        let time = checkManifest && stat(directory, &info) == 0 ? Int64(info.st_mtim.tv_sec) : identity.mtimeNanos / 1_000_000_000
        return Backup(id: id, directory: directory, files: [file], manifestFile: nil, manifest: nil, singleFile: true, directoryTime: time)
    }

    /// Refuses backups still being written, snapshots, and those not completed.
    private func checkState(directory: String, argument: String) throws(AgentError) -> BackupManifest? {
        let id = String(directory.split(separator: "/").last ?? "")
        if access(join(directory, Backup.inProgressMarker), F_OK) == 0 {
            throw AgentError(
                .notCompleted, "the backup \(id) is still being written (\(Backup.inProgressMarker) exists)",
                hint: "wait for the backup job to finish; if it died, remove \(join(directory, Backup.inProgressMarker)) after checking the archives")
        }
        let manifestPath = join(directory, Backup.manifestName)
        guard access(manifestPath, F_OK) == 0 else { return nil }
        guard let text = AtomicFile.read(manifestPath, limit: 1 << 20) else {
            throw AgentError(.unreadable, "cannot read \(manifestPath): \(String(cString: strerror(errno)))", hint: "let the agent's user read the backup (check its owner and mode)")
        }
        guard let json = JSON.parse(text), json.objectValue != nil else {
            throw AgentError(.notCompleted, "the manifest \(manifestPath) is not valid JSON", hint: "the backup job may still be writing it, or it is damaged; re-run the backup")
        }
        let manifest = BackupManifest(id: json["id"]?.stringValue, type: json["type"]?.stringValue, status: json["status"]?.stringValue, createdAt: json["created_at"]?.stringValue)
        if manifest.type == "snapshot" {
            throw AgentError(
                .snapshot, "the backup \(id) is a snapshot; snapshots live at the cloud provider, not in files",
                hint: "push file, database or full backups offsite; manage snapshots in the cloud provider's console")
        }
        guard manifest.status == "completed" else {
            let status = manifest.status.map { "\"\($0)\"" } ?? "missing"
            throw AgentError(
                .notCompleted, "the backup \(id) is not completed (status \(status) in \(Backup.manifestName))",
                hint: "wait for the backup to complete; only completed backups are pushed offsite")
        }
        return manifest
    }

    /// A directory by device and inode: a symlink loop comes back to one already seen.
    struct DirectoryID: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    private func walk(directory: String, relative: String, root: String, visited: inout Set<DirectoryID>, into files: inout [BackupFile]) throws(AgentError) {
        var dst = stat()
        if stat(directory, &dst) == 0 {
            let id = DirectoryID(device: UInt64(dst.st_dev), inode: UInt64(dst.st_ino))
            guard visited.insert(id).inserted else {
                throw AgentError(
                    .invalidPath, "the folder \(directory) is reached twice through symlinks (a loop)",
                    hint: "remove the symlink that points back into the backup")
            }
        }
        guard let entries = DirectoryListing.names(in: directory) else {
            throw AgentError(.unreadable, "cannot read the folder \(directory): \(String(cString: strerror(errno)))", hint: "let the agent's user read the backup (check owner and mode)")
        }
        for name in entries {
            let path = join(directory, name)
            let rel = relative.isEmpty ? name : relative + "/" + name
            var lst = stat()
            guard lstat(path, &lst) == 0 else { continue }
            var target = path
            if (lst.st_mode & S_IFMT) == S_IFLNK {
                guard let real = BackupResolver.realPath(path) else {
                    throw AgentError(.invalidPath, "the symlink \(path) points nowhere", hint: "remove the broken symlink from the backup")
                }
                guard isInside(real, root: root) else {
                    throw AgentError(
                        .invalidPath, "the symlink \(path) points to \(real), outside the backup directory \(root)",
                        hint: "backups may only contain files inside backup_dir; replace the symlink with the file itself")
                }
                target = real
            }
            var st = stat()
            guard stat(target, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                try walk(directory: target, relative: rel, root: root, visited: &visited, into: &files)
            case S_IFREG:
                try checkReadable(target)
                let identity = FileIdentity(
                    size: Int64(st.st_size), mtimeNanos: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec), inode: UInt64(st.st_ino))
                files.append(BackupFile(relativePath: rel, absolutePath: target, identity: identity))
            default:
                continue  // sockets, fifos, devices are not archives
            }
        }
    }

    private func checkReadable(_ path: String) throws(AgentError) {
        var st = stat()
        if stat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG {
            throw AgentError(.invalidPath, "\(path) is not a regular file", hint: "upload archive files only (not sockets, pipes or devices)")
        }
        // O_NONBLOCK: never hang on a pipe swapped in between the stat and the open.
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        if fd < 0 {
            throw AgentError(
                .unreadable, "cannot read \(path): \(String(cString: strerror(errno)))",
                hint: "let the agent's user read the backup files (check their owner and mode, e.g. `ls -l \(path)`)")
        }
        close(fd)
    }

    // MARK: paths

    func join(_ a: String, _ b: String) -> String {
        if b.isEmpty { return a }
        return a.hasSuffix("/") ? a + b : a + "/" + b
    }

    /// Compared byte for byte: Swift's String equality treats NFC and NFD spellings as equal,
    /// the file system does not.
    func isInside(_ path: String, root: String) -> Bool {
        let p = Array(path.utf8)
        let r = Array((root.hasSuffix("/") ? root : root + "/").utf8)
        return Array(root.utf8) == p || (p.count >= r.count && Array(p[0..<r.count]) == r)
    }

    /// Removes `.`, empty segments and resolves `..` lexically.
    public static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    public static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}

