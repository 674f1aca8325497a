import AgentSupport

#if canImport(Glibc)
    import Glibc
#endif

/// One file of a backup to send.
public struct BackupFile: Sendable, Equatable {
    /// Path relative to the backup directory, "/"-separated.
    public var relativePath: String
    public var absolutePath: String
    public var identity: FileIdentity
}

/// What identifies a file's content without reading it: a change in any field means the file changed.
public struct FileIdentity: Sendable, Equatable, Codable {
    public var size: Int64
    /// Modification time in nanoseconds since the epoch.
    public var mtimeNanos: Int64
    public var inode: UInt64

    public init(size: Int64, mtimeNanos: Int64, inode: UInt64) {
        self.size = size
        self.mtimeNanos = mtimeNanos
        self.inode = inode
    }

    /// Reads the identity of a path (following symlinks).
    public static func of(path: String) -> FileIdentity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileIdentity(size: Int64(st.st_size), mtimeNanos: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec), inode: UInt64(st.st_ino))
    }

    public static func of(fd: Int32) -> FileIdentity? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return FileIdentity(size: Int64(st.st_size), mtimeNanos: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec), inode: UInt64(st.st_ino))
    }
}

/// The backup's own manifest, `backup.json`.
public struct BackupManifest: Sendable {
    public var id: String?
    public var type: String?
    public var status: String?
    public var createdAt: String?
}

/// A backup resolved from what the user named, checked, with its files listed.
public struct Backup: Sendable {
    public var id: String
    /// The backup directory (real path, inside backup_dir).
    public var directory: String
    /// Archive files to send, in a stable order (manifest excluded).
    public var files: [BackupFile]
    /// `backup.json`, sent after the archives, when present.
    public var manifestFile: BackupFile?
    public var manifest: BackupManifest?
    /// True when the user named one archive file rather than the whole backup.
    public var singleFile: Bool
    /// The backup directory's modification time (seconds since the epoch): the backup's date
    /// when `backup.json` gives no `created_at`.
    public var directoryTime: Int64? = nil

    /// When the backup was made: `created_at` from `backup.json` (as written), else the
    /// directory's time in ISO 8601; never the time it was uploaded.
    public var createdAt: String? {
        if let c = manifest?.createdAt, Timestamp.parseISO8601(c) != nil { return c }
        return directoryTime.map(Timestamp.iso8601)
    }

    public static let manifestName = "backup.json"
    public static let inProgressMarker = ".in-progress"
    public static let offsiteManifestName = "offsite-manifest.json"

    /// Every file to send, archives first and `backup.json` last.
    public var allFiles: [BackupFile] { files + (manifestFile.map { [$0] } ?? []) }

    public var totalBytes: Int64 { allFiles.reduce(0) { $0 + $1.identity.size } }
}
