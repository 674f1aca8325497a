import AgentSupport
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a local file could not be read: the operating system's reason, never the file's content.
package struct LocalFileError: Error, Sendable {
    package var errorNumber: Int32
    package var reason: String
    package var isMissing: Bool { errorNumber == ENOENT || errorNumber == ENOTDIR }
}

/// The few local file-system calls the config and profile loaders need, straight from libc so
/// these modules need no Foundation.
package enum LocalFiles {
    /// The whole file as UTF-8 text.
    package static func readText(_ path: String) throws(LocalFileError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(errno) }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { throw failure(EISDIR) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure(errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// True when `path` names a directory.
    package static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// True when this process may read `path`.
    package static func isReadable(_ path: String) -> Bool {
        access(path, R_OK) == 0
    }

    /// The names in a directory (without `.` and `..`), sorted.
    package static func directoryEntries(_ path: String) throws(LocalFileError) -> [String] {
        guard let names = DirectoryListing.names(in: path) else { throw failure(errno) }
        return names
    }

    /// `$HOME`, else the password database's home directory for this user.
    package static func homeDirectory(environment: [String: String]) -> String? {
        if let home = environment["HOME"], !home.isEmpty { return home }
        guard let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir else { return nil }
        return String(cString: dir)
    }

    private static func failure(_ code: Int32) -> LocalFileError {
        LocalFileError(errorNumber: code, reason: String(cString: strerror(code)))
    }
}
