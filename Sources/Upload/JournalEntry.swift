import AgentSupport
import Backups
import Hashing

/// One upload of a backup to a vault, as recorded before anything is sent (SPEC 6).
/// Holds no secret — ids, keys, sizes, ETags and checksums — but for one: an unfinished encrypted
/// file's age file key, header and payload nonce, so a resume re-creates its missing parts byte
/// for byte; they are dropped when the file completes.
public struct JournalEntry: Sendable {
    public enum State: String, Sendable {
        case uploading, interrupted, completed, failed, aborted
    }

    public struct Part: Sendable, Equatable {
        public var number: Int
        public var etag: String
        public var size: Int64
        /// Hex SHA-256 of the part; empty when the part was sent with a CRC-32C instead (issue 17).
        public var sha256: String
        public var md5: String?
        /// The part's CRC-32C (8 hex digits) when it was sent with x-amz-checksum-crc32c.
        public var crc32c: String? = nil
    }

    /// How a file is stored encrypted (age): recipients and stored size, and while the file is
    /// unfinished the secrets that re-create its bytes.
    public struct Encryption: Sendable, Equatable {
        public var recipients: [String]
        /// Bytes of the stored age file (header, nonce, sealed chunks).
        public var storedSize: Int64
        public var fileKey: [UInt8]?
        public var header: [UInt8]?
        public var nonce: [UInt8]?

        public init(recipients: [String], storedSize: Int64, fileKey: [UInt8]?, header: [UInt8]?, nonce: [UInt8]?) {
            self.recipients = recipients
            self.storedSize = storedSize
            self.fileKey = fileKey
            self.header = header
            self.nonce = nonce
        }

        /// Whether the secrets that re-create the stored bytes are at hand.
        public var hasSecrets: Bool { fileKey != nil && header != nil && nonce != nil }
    }

    public struct File: Sendable {
        public enum State: String, Sendable { case pending, uploading, done }
        public var path: String
        public var sourcePath: String
        public var key: String
        public var identity: FileIdentity
        public var state: State
        public var uploadID: String?
        public var partSize: Int64?
        public var parts: [Part]
        public var etag: String?
        /// Checksum of the whole file: `sha256:<hex>`, `sha256-parts:<hex>,<hex>...`, or
        /// `crc32c:<8 hex>` (the full-object CRC-32C the server verified, issue 17).
        public var checksum: String?
        /// Set when the file is stored encrypted.
        public var encryption: Encryption?

        /// Bytes of the stored object (the age file when encrypted).
        public var storedSize: Int64 { encryption?.storedSize ?? identity.size }

        public var bytesDone: Int64 {
            if state == .done { return storedSize }
            return parts.saturatingSum(\.size)
        }
    }

    public var id: String
    public var backup: String
    public var backupDirectory: String
    public var singleFile: Bool
    public var vault: String
    public var bucket: String
    public var endpoint: String
    public var prefix: String
    public var state: State
    public var created: Int64
    public var updated: Int64
    public var lastError: String?
    public var files: [File]
    /// The limits given on the command line when the upload started (`--bandwidth-limit`,
    /// `--concurrency`); nil: the vault's config. `resume` applies them unless told otherwise.
    public var bandwidthLimit: Int64?
    public var concurrency: Int?
    /// Names the log (`<id>.log`) whose records belong to this snapshot (format 3, issue 19).
    public var logToken: String?

    public var bytesTotal: Int64 { files.saturatingSum(\.storedSize) }
    public var bytesDone: Int64 { files.saturatingSum(\.bytesDone) }
    public var isFinished: Bool { state == .completed || state == .aborted }

    // MARK: JSON

    public func json() -> JSON { json(files: .array(files.map { $0.json() })) }

    /// Writes the snapshot. A large entry is written compact, one file per line, straight to the
    /// file: neither its JSON tree nor its text exists whole in memory (issue 19).
    func writeSnapshot(to out: inout AtomicFile.Writer) {
        guard files.count > JournalEntry.compactAbove, case .object(let pairs) = json(files: .null) else {
            return out.write(json().serialized(pretty: true) + "\n")
        }
        out.write("{")
        for (i, (key, value)) in pairs.enumerated() {
            out.write((i > 0 ? ", " : "") + JSON.string(key).serialized() + ": ")
            guard key == "files" else {
                out.write(value.serialized())
                continue
            }
            out.write("[\n")
            for (j, f) in files.enumerated() { out.write((j > 0 ? ",\n" : "") + f.json().serialized()) }
            out.write("\n]")
        }
        out.write("}\n")
    }

    /// Entries of more files are written compact, one file per line.
    static let compactAbove = 1000

    private func json(files filesJSON: JSON) -> JSON {
        .object([
            // 1: the first format; 2: with encrypted files (an agent that cannot encrypt sets it aside);
            // 3: progress may also be in the append-only log `<id>.log` named by `log` (issue 19).
            ("version", .int(logToken != nil ? 3 : files.contains { $0.encryption != nil } ? 2 : 1)),
            ("id", .string(id)),
            ("backup", .string(backup)),
            ("backup_directory", .string(backupDirectory)),
            ("single_file", .bool(singleFile)),
            ("vault", .string(vault)),
            ("bucket", .string(bucket)),
            ("endpoint", .string(endpoint)),
            ("prefix", .string(prefix)),
            ("state", .string(state.rawValue)),
            ("created", .int(created)),
            ("updated", .int(updated)),
            ("last_error", lastError.map { .string($0) } ?? .null),
            ("files", filesJSON),
            ("bandwidth_limit", bandwidthLimit.map { .int($0) } ?? .null),
            ("concurrency", concurrency.map { .int(Int64($0)) } ?? .null),
            ("log", logToken.map { .string($0) } ?? .null),
        ])
    }

    /// The journal formats this agent reads: 1 (plain uploads), 2 (with encryption state) and 3 (the
    /// progress may also be in the append-only log `<id>.log`, issue 19; the format it writes). A
    /// file with a higher `version` was written by a newer agent: it is refused, never misread or
    /// moved aside.
    public static let newestFormat = 3

    public init?(json: JSON) {
        guard let version = json["version"]?.intValue, (1...Int64(Self.newestFormat)).contains(version), let id = json["id"]?.stringValue, let backup = json["backup"]?.stringValue,
            let vault = json["vault"]?.stringValue, let stateText = json["state"]?.stringValue, let state = State(rawValue: stateText),
            let filesJSON = json["files"]?.arrayValue
        else { return nil }
        var files: [File] = []
        for f in filesJSON {
            guard let file = File(json: f) else { return nil }
            files.append(file)
        }
        self.id = id
        self.backup = backup
        self.backupDirectory = json["backup_directory"]?.stringValue ?? ""
        self.singleFile = json["single_file"]?.boolValue ?? false
        self.vault = vault
        self.bucket = json["bucket"]?.stringValue ?? ""
        self.endpoint = json["endpoint"]?.stringValue ?? ""
        self.prefix = json["prefix"]?.stringValue ?? ""
        self.state = state
        // Times no agent writes (before 1970, after year 36812) mean a damaged file; they would
        // also overflow `now - updated`.
        let created = json["created"]?.intValue ?? 0
        let updated = json["updated"]?.intValue ?? 0
        guard (0...JournalEntry.latestTime).contains(created), (0...JournalEntry.latestTime).contains(updated) else { return nil }
        self.created = created
        self.updated = updated
        self.lastError = json["last_error"]?.stringValue
        self.files = files
        // Values no agent writes are ignored (the vault's config applies), never trusted.
        if let limit = json["bandwidth_limit"]?.intValue, limit > 0 { self.bandwidthLimit = limit }
        if let c = json["concurrency"]?.intValue, (1...64).contains(c) { self.concurrency = Int(c) }
        self.logToken = version >= 3 ? json["log"]?.stringValue : nil
    }

    public init(
        id: String, backup: String, backupDirectory: String, singleFile: Bool, vault: String, bucket: String, endpoint: String, prefix: String,
        files: [File], now: Int64
    ) {
        self.id = id
        self.backup = backup
        self.backupDirectory = backupDirectory
        self.singleFile = singleFile
        self.vault = vault
        self.bucket = bucket
        self.endpoint = endpoint
        self.prefix = prefix
        self.state = .uploading
        self.created = now
        self.updated = now
        self.lastError = nil
        self.files = files
    }
}

extension JournalEntry {
    /// No S3 service takes a part over 5 GiB: a larger recorded part size is damage (and would
    /// overflow the part-count arithmetic).
    static let maxPartSize: Int64 = 5 << 30
    /// 10,000 parts of 5 GiB (S3's largest object is 5 TiB): anything above is damage.
    static let maxFileSize: Int64 = 10_000 * (5 << 30)
    static let latestTime: Int64 = 1 << 40
}

extension JournalEntry.File {
    func json() -> JSON {
        .object([
            ("path", .string(path)),
            ("source", .string(sourcePath)),
            ("key", .string(key)),
            ("size", .int(identity.size)),
            ("mtime_ns", .int(identity.mtimeNanos)),
            ("inode", .int(Int64(bitPattern: identity.inode))),
            ("state", .string(state.rawValue)),
            ("upload_id", uploadID.map { .string($0) } ?? .null),
            ("part_size", partSize.map { .int($0) } ?? .null),
            (
                "parts",
                .array(
                    parts.map { p in
                        var fields: [(String, JSON)] = [("n", .int(Int64(p.number))), ("etag", .string(p.etag)), ("size", .int(p.size)), ("sha256", .string(p.sha256))]
                        if let md5 = p.md5 { fields.append(("md5", .string(md5))) }
                        if let crc = p.crc32c { fields.append(("crc32c", .string(crc))) }
                        return .object(fields)
                    })
            ),
            ("etag", etag.map { .string($0) } ?? .null),
            ("checksum", checksum.map { .string($0) } ?? .null),
            ("encryption", encryption.map { $0.json() } ?? .null),
        ])
    }

    init?(json: JSON) {
        guard let path = json["path"]?.stringValue, let key = json["key"]?.stringValue, let size = json["size"]?.intValue, size >= 0,
            let stateText = json["state"]?.stringValue, let state = State(rawValue: stateText)
        else { return nil }
        // Values no agent writes mean a damaged file: refuse it rather than divide by zero later.
        if let partSize = json["part_size"]?.intValue, partSize <= 0 || partSize > JournalEntry.maxPartSize { return nil }
        guard size <= JournalEntry.maxFileSize else { return nil }
        self.path = path
        self.sourcePath = json["source"]?.stringValue ?? ""
        self.key = key
        self.identity = FileIdentity(size: size, mtimeNanos: json["mtime_ns"]?.intValue ?? 0, inode: UInt64(bitPattern: json["inode"]?.intValue ?? 0))
        self.state = state
        self.uploadID = json["upload_id"]?.stringValue
        self.partSize = json["part_size"]?.intValue
        self.parts = (json["parts"]?.arrayValue ?? []).compactMap { p in
            guard let n = p["n"]?.intValue, n >= 1, n <= 10_000_000, let etag = p["etag"]?.stringValue else { return nil }
            let partSize = p["size"]?.intValue ?? 0
            guard (0...JournalEntry.maxPartSize).contains(partSize) else { return nil }
            return JournalEntry.Part(
                number: Int(n), etag: etag, size: partSize, sha256: p["sha256"]?.stringValue ?? "", md5: p["md5"]?.stringValue,
                crc32c: p["crc32c"]?.stringValue.flatMap { CRC32C.parseHex($0) != nil ? $0 : nil })
        }
        self.etag = json["etag"]?.stringValue
        self.checksum = json["checksum"]?.stringValue
        if let e = json["encryption"], e.stringValue == nil, e["format"] != nil {
            guard let encryption = JournalEntry.Encryption(json: e, plaintextSize: size) else { return nil }
            self.encryption = encryption
        }
    }

    public init(path: String, sourcePath: String, key: String, identity: FileIdentity) {
        self.path = path
        self.sourcePath = sourcePath
        self.key = key
        self.identity = identity
        self.state = .pending
        self.uploadID = nil
        self.partSize = nil
        self.parts = []
        self.etag = nil
        self.checksum = nil
        self.encryption = nil
    }
}
