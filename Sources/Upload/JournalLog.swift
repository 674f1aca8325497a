import Age
import AgentSupport
import HTTPTransport
import Hashing

#if canImport(Glibc)
    import Glibc
#endif

/// One step of an upload, appended to `<id>.log` beside the entry's snapshot `<id>.json` as it
/// happens, so recording progress costs the same at the 10,000th file as at the first (issue 19).
/// Each line is `<first 16 hex of the SHA-256 of the JSON> <JSON>`: a line that does not check
/// (a write torn by a crash) ends the replay. A record belongs to the snapshot whose `log` token
/// it carries: a log left beside a newer snapshot (a crash between the two) is ignored.
public enum JournalRecord: Sendable, Equatable {
    /// A file's encryption was prepared: its age key, header and nonce (0600 journal, SPEC 9).
    case encryption(path: String, JournalEntry.Encryption)
    /// A multipart upload was created for the file.
    case multipart(path: String, uploadID: String, partSize: Int64)
    /// The server acknowledged one part.
    case part(path: String, JournalEntry.Part)
    /// The file is stored and verified: its ETag and checksum; its secrets are dropped.
    case done(path: String, etag: String, checksum: String)

    var path: String {
        switch self {
        case .encryption(let p, _), .multipart(let p, _, _), .part(let p, _), .done(let p, _, _): return p
        }
    }

    func json(token: String, time: Int64) -> JSON {
        var fields: [(String, JSON)] = [("g", .string(token)), ("u", .int(time)), ("p", .string(path))]
        switch self {
        case .encryption(_, let e):
            fields += [("t", .string("enc")), ("enc", e.json())]
        case .multipart(_, let uploadID, let partSize):
            fields += [("t", .string("mpu")), ("upload_id", .string(uploadID)), ("part_size", .int(partSize))]
        case .part(_, let p):
            fields += [("t", .string("part")), ("n", .int(Int64(p.number))), ("etag", .string(p.etag)), ("size", .int(p.size)), ("sha256", .string(p.sha256))]
            if let md5 = p.md5 { fields.append(("md5", .string(md5))) }
            if let crc = p.crc32c { fields.append(("crc32c", .string(crc))) }
        case .done(_, let etag, let checksum):
            fields += [("t", .string("done")), ("etag", .string(etag)), ("checksum", .string(checksum))]
        }
        return .object(fields)
    }

    /// Reads what `json` wrote; nil for anything else. `plaintextSize` checks an encryption record.
    init?(json: JSON, plaintextSize: (String) -> Int64?) {
        guard let path = json["p"]?.stringValue, let type = json["t"]?.stringValue else { return nil }
        switch type {
        case "enc":
            guard let size = plaintextSize(path), let e = json["enc"], let enc = JournalEntry.Encryption(json: e, plaintextSize: size) else { return nil }
            self = .encryption(path: path, enc)
        case "mpu":
            guard let id = json["upload_id"]?.stringValue, !id.isEmpty, let ps = json["part_size"]?.intValue, ps > 0, ps <= JournalEntry.maxRecordedPartSize else { return nil }
            self = .multipart(path: path, uploadID: id, partSize: ps)
        case "part":
            guard let n = json["n"]?.intValue, n >= 1, n <= 10_000_000, let etag = json["etag"]?.stringValue, let size = json["size"]?.intValue,
                (0...JournalEntry.maxRecordedPartSize).contains(size), let sha = json["sha256"]?.stringValue
            else { return nil }
            self = .part(
                path: path,
                JournalEntry.Part(
                    number: Int(n), etag: etag, size: size, sha256: sha, md5: json["md5"]?.stringValue,
                    crc32c: json["crc32c"]?.stringValue.flatMap { CRC32C.parseHex($0) != nil ? $0 : nil }))
        case "done":
            guard let etag = json["etag"]?.stringValue, let checksum = json["checksum"]?.stringValue else { return nil }
            self = .done(path: path, etag: etag, checksum: checksum)
        default:
            return nil
        }
    }

    /// Applies the step to the file it names.
    func apply(to file: inout JournalEntry.File) {
        switch self {
        case .encryption(_, let e):
            file.encryption = e
        case .multipart(_, let uploadID, let partSize):
            file.uploadID = uploadID
            file.partSize = partSize
            file.parts = []
            file.state = .uploading
        case .part(_, let p):
            if let last = file.parts.last, last.number < p.number {
                file.parts.append(p)
            } else if let i = file.parts.lastIndex(where: { $0.number == p.number }) {
                file.parts[i] = p
            } else {
                file.parts.append(p)
            }
        case .done(_, let etag, let checksum):
            file.etag = etag
            file.checksum = checksum
            file.state = .done
            // The journal keeps no secret of a finished file: its key, header and nonce go.
            file.dropSecrets()
        }
    }

    /// One log line (with its newline).
    func line(token: String, time: Int64) -> String {
        let text = json(token: token, time: time).serialized()
        return JournalRecord.check(text) + " " + text + "\n"
    }

    static func check(_ text: String) -> String { String(Digest.sha256(text).hexString.prefix(16)) }
}

extension JournalEntry {
    /// No S3 service takes a part over 5 GiB.
    static let maxRecordedPartSize: Int64 = 5 << 30
}

/// Replays a log onto the snapshot it belongs to, one line at a time (a log of any length is read
/// in bounded memory); stops at the first line that does not check (torn by a crash). Lines of
/// another snapshot's log are skipped. Linear in the log's length.
struct LogReplay {
    private let token: String?
    private var index: [String: Int] = [:]
    private var latest: Int64

    init(_ entry: JournalEntry) {
        token = entry.logToken
        latest = entry.updated
        guard token != nil else { return }
        index.reserveCapacity(entry.files.count)
        for (i, f) in entry.files.enumerated() { index[f.path] = i }
    }

    /// Applies one line; false when the replay ends here (no log expected, or a line that does not check).
    mutating func apply(_ line: Substring, to entry: inout JournalEntry) -> Bool {
        guard let token, line.utf8.count > 17, let space = line.firstIndex(of: " ") else { return false }
        let check = line[line.startIndex..<space]
        let body = String(line[line.index(after: space)...])
        guard check.utf8.count == 16, JournalRecord.check(body) == String(check), let json = JSON.parse(body) else { return false }
        guard json["g"]?.stringValue == token else { return true }
        let index = self.index
        guard let record = JournalRecord(json: json, plaintextSize: { p in index[p].map { entry.files[$0].identity.size } }),
            let i = index[record.path]
        else { return false }
        record.apply(to: &entry.files[i])
        if let u = json["u"]?.intValue, u > latest, u <= 1 << 40 { latest = u }
        return true
    }

    func finish(_ entry: inout JournalEntry) { entry.updated = latest }
}

/// The append side of an entry's log, held by the engine while it works on the entry (under the
/// entry's lock). Each record is written at once (a `kill -9` cannot lose it: the kernel has it)
/// and flushed to disk at most once a second and on close (a power cut may lose the last
/// second's records: those files are sent again, nothing is lost).
final class JournalLogWriter {
    let path: String
    let token: String
    private var fd: Int32 = -1
    private var lastSync = monotonicSeconds()
    private var unsynced = false

    init(path: String, token: String) {
        self.path = path
        self.token = token
    }

    deinit { close() }

    func append(_ record: JournalRecord, time: Int64) throws(AgentError) {
        if fd < 0 {
            fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard fd >= 0 else { throw failure("cannot open \(path)") }
        }
        let bytes = Array(record.line(token: token, time: time).utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw failure("cannot write \(path)") }
            done += n
        }
        unsynced = true
        let now = monotonicSeconds()
        if now - lastSync >= 1 { sync(now: now) }
    }

    func sync(now: Double = monotonicSeconds()) {
        guard fd >= 0, unsynced else { return }
        _ = fdatasync(fd)
        unsynced = false
        lastSync = now
    }

    func close() {
        guard fd >= 0 else { return }
        sync()
        _ = Glibc.close(fd)
        fd = -1
    }

    private func failure(_ what: String) -> AgentError {
        AgentError(.invalidConfig, "cannot write the journal: \(what): \(String(cString: strerror(errno)))", hint: "check free space and permissions of state_dir")
    }
}

extension Journal {
    public func logPath(of id: String) -> String { "\(directory)/\(id).log" }

    /// A fresh token naming one snapshot's log.
    static func newLogToken() -> String {
        if let bytes = AgePrimitives.random(8) { return bytes.hexString }
        // No random source: time and pid still tell two snapshots apart.
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return "t\(ts.tv_sec)\(ts.tv_nsec)p\(getpid())"
    }

    /// The entry with its log replayed (the snapshot alone when there is no log).
    /// The log is read line by line: correct for a log of any length, in bounded memory.
    public func withLog(_ entry: JournalEntry) -> JournalEntry {
        guard entry.logToken != nil else { return entry }
        var merged = entry
        var replay = LogReplay(entry)
        AtomicFile.forEachLine(logPath(of: entry.id)) { line in line.isEmpty || replay.apply(line, to: &merged) }
        replay.finish(&merged)
        return merged
    }
}
