#if canImport(Glibc)
    import Glibc
#endif

/// Files written so that a crash at any instant leaves either the old or the new content:
/// temp file, fsync, rename, fsync of the directory.
public enum AtomicFile {
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        /// The `errno` of the failed call (`ENOSPC` for a full disk).
        public var code: Int32 = 0
        public var description: String { "\(path): \(reason)" }
    }

    public static func write(_ text: String, to path: String, mode: mode_t = 0o600) throws(Failure) {
        try write(to: path, mode: mode) { (out: inout Writer) in
            // Written from the string's own UTF-8 storage: no copy of a large journal or manifest.
            var text = text
            text.withUTF8 { out.write($0) }
        }
    }

    /// Writes what `produce` hands its writer, through a 64 KiB buffer: a large journal or restore
    /// state never exists as one string (issue 19). Same guarantees as `write(_:to:mode:)`.
    public static func write(to path: String, mode: mode_t = 0o600, _ produce: (inout Writer) -> Void) throws(Failure) {
        let dir = directory(of: path)
        let temp = "\(path).tmp.\(getpid())"
        // A leftover of a crashed run with our pid, or a planted symlink: removed, never followed.
        unlink(temp)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Failure(path: temp, reason: String(cString: strerror(errno)), code: errno) }
        var writer = Writer(fd: fd)
        produce(&writer)
        writer.flush()
        if let failed = writer.failed {
            close(fd)
            unlink(temp)
            throw Failure(path: temp, reason: String(cString: strerror(failed)), code: failed)
        }
        fchmod(fd, mode)
        if fsync(fd) != 0 {
            let code = errno
            close(fd)
            unlink(temp)
            throw Failure(path: temp, reason: String(cString: strerror(code)), code: code)
        }
        close(fd)
        if rename(temp, path) != 0 {
            let code = errno
            unlink(temp)
            throw Failure(path: path, reason: String(cString: strerror(code)), code: code)
        }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    /// The buffered sink of `write(to:mode:_:)`: the first failed write is kept (its `errno`) and
    /// later ones are skipped.
    public struct Writer {
        let fd: Int32
        private var buffer: [UInt8] = []
        private(set) var failed: Int32?
        static let bufferSize = 64 << 10

        init(fd: Int32) {
            self.fd = fd
            buffer.reserveCapacity(Writer.bufferSize)
        }

        public mutating func write(_ text: String) {
            var text = text
            text.withUTF8 { write($0) }
        }

        public mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
            if buffer.count + bytes.count > Writer.bufferSize { flush() }
            if bytes.count >= Writer.bufferSize {
                if failed == nil { failed = Writer.writeAll(fd, bytes) }
            } else {
                buffer.append(contentsOf: bytes)
            }
        }

        mutating func flush() {
            guard !buffer.isEmpty else { return }
            if failed == nil { failed = buffer.withUnsafeBufferPointer { Writer.writeAll(fd, $0) } }
            buffer.removeAll(keepingCapacity: true)
        }

        /// Writes every byte; the `errno` of a failure, nil when all went out.
        private static func writeAll(_ fd: Int32, _ bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
            guard let base = bytes.baseAddress else { return nil }
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(fd, base + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += n
            }
            return nil
        }
    }

    public static func read(_ path: String, limit: Int = 64 << 20) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65536)
        while out.count < limit {
            let n = Glibc.read(fd, &buf, buf.count)
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Hands each line of a file (without its newline; a last line without one too) to `body`,
    /// reading 64 KiB at a time: memory stays bounded whatever the file's size. Stops when `body`
    /// returns false, at a line longer than `maxLine` bytes (handed over cut to `maxLine`), or at
    /// a read error. False when the file cannot be opened.
    @discardableResult
    public static func forEachLine(_ path: String, maxLine: Int = 1 << 20, _ body: (Substring) -> Bool) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var pending: [UInt8] = []
        var block = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = block.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            var start = 0
            for i in 0..<n where block[i] == UInt8(ascii: "\n") {
                pending.append(contentsOf: block[start..<i])
                start = i + 1
                let line = String(decoding: pending, as: UTF8.self)
                pending.removeAll(keepingCapacity: true)
                guard body(line[...]) else { return true }
            }
            pending.append(contentsOf: block[start..<n])
            if pending.count > maxLine {
                _ = body(String(decoding: pending.prefix(maxLine), as: UTF8.self)[...])
                return true
            }
        }
        if !pending.isEmpty { _ = body(String(decoding: pending, as: UTF8.self)[...]) }
        return true
    }

    /// `mkdir -p` with a mode for the directories it creates.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o700) -> Bool {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, mode) != 0 && errno != EEXIST { return false }
        }
        return true
    }

    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let d = String(path[..<slash])
        return d.isEmpty ? "/" : d
    }
}

/// UTC timestamps without Foundation.
public enum Timestamp {
    /// `2026-11-22T04:18:12Z` for seconds since the epoch.
    public static func iso8601(_ epoch: Int64) -> String {
        let (y, m, d, hh, mm, ss) = civil(epoch)
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(hh, 2)):\(pad(mm, 2)):\(pad(ss, 2))Z"
    }

    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (and `+00:00`); nil otherwise.
    public static func parseISO8601(_ text: String) -> Int64? {
        let chars = Array(text.utf8)
        guard chars.count >= 19 else { return nil }
        func num(_ a: Int, _ b: Int) -> Int? { Int(String(decoding: chars[a..<b], as: UTF8.self)) }
        guard let y = num(0, 4), let mo = num(5, 7), let d = num(8, 10), let h = num(11, 13), let mi = num(14, 16), let s = num(17, 19),
            (0...9999).contains(y), (1...12).contains(mo), (1...31).contains(d), (0...23).contains(h), (0...59).contains(mi), (0...60).contains(s)
        else { return nil }
        return daysFromCivil(y, mo, d) * 86400 + Int64(h * 3600 + mi * 60 + s)
    }

    static func civil(_ epoch: Int64) -> (Int, Int, Int, Int, Int, Int) {
        let days = epoch >= 0 ? epoch / 86400 : (epoch - 86399) / 86400
        let secs = Int(epoch - days * 86400)
        // Howard Hinnant's civil_from_days.
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d), secs / 3600, (secs % 3600) / 60, secs % 60)
    }

    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    private static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
