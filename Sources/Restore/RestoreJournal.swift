import Age
import AgentSupport
import Vault

#if canImport(Glibc)
    import Glibc
#endif

/// The record of one restore in progress, `<target>/.offsite-restore/journal.json`: which files
/// are finished and which ranges of the others are already written to their `.partial` files.
/// Written atomically, so a `kill -9` at any moment leaves a journal a re-run can trust.
public struct RestoreJournal: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        public var path: String
        public var size: Int64
        /// Verified and renamed into place (or about to be: the rename follows the save).
        public var done: Bool
        /// Indices of the chunks already written to the `.partial` file (of an encrypted file:
        /// ranges of whole sealed chunks, authenticated and written as plaintext).
        public var chunks: [Int]
        /// An encrypted file's header and payload nonce, kept while some of its ranges are written
        /// so a re-run can open it again with the identity (no secret: it is the object's first bytes).
        public var ageHeader: [UInt8]?

        public init(path: String, size: Int64, done: Bool = false, chunks: [Int] = [], ageHeader: [UInt8]? = nil) {
            self.path = path
            self.size = size
            self.done = done
            self.chunks = chunks
            self.ageHeader = ageHeader
        }

        var json: JSON {
            var fields: [(String, JSON)] = [("path", .string(path)), ("size", .int(size)), ("done", .bool(done)), ("chunks", .array(chunks.map { .int(Int64($0)) }))]
            if let ageHeader { fields.append(("age_header", .string(AgeBase64.encode(ageHeader)))) }
            return .object(fields)
        }
    }

    public var backup: String
    public var vault: String
    /// SHA-256 of the manifest the progress belongs to: another manifest means start over.
    public var manifestSHA256: String
    public var chunkSize: Int64
    public var files: [File]

    public init(backup: String, vault: String, manifestSHA256: String, chunkSize: Int64, files: [File]) {
        self.backup = backup
        self.vault = vault
        self.manifestSHA256 = manifestSHA256
        self.chunkSize = chunkSize
        self.files = files
    }

    public static func path(in target: String) -> String { "\(target)/\(RestorePaths.stagingName)/journal.json" }

    public func json() -> JSON { .object(head + [("files", .array(files.map(\.json)))]) }

    /// The fields before `files`.
    private var head: [(String, JSON)] {
        [
            ("format", .int(files.contains { $0.ageHeader != nil } ? 2 : 1)), ("backup", .string(backup)), ("vault", .string(vault)),
            ("manifest_sha256", .string(manifestSHA256)), ("chunk_size", .int(chunkSize)),
        ]
    }

    /// Writes the journal compact, one file per line, straight to the file: it never exists whole
    /// as a JSON tree or a string, however many files the backup has (issue 19).
    func write(to out: inout AtomicFile.Writer) {
        out.write("{")
        for (key, value) in head { out.write(JSON.string(key).serialized() + ": " + value.serialized() + ", ") }
        out.write("\"files\": [")
        for (i, f) in files.enumerated() { out.write((i > 0 ? ",\n" : "\n") + f.json.serialized()) }
        out.write("\n]}\n")
    }

    public init?(json: JSON) {
        guard let format = json["format"]?.intValue, (1...Int64(Self.newestFormat)).contains(format), let backup = json["backup"]?.stringValue, let vault = json["vault"]?.stringValue,
            let sha = json["manifest_sha256"]?.stringValue, let chunkSize = json["chunk_size"]?.intValue, let list = json["files"]?.arrayValue
        else { return nil }
        var files: [File] = []
        for f in list {
            guard let path = f["path"]?.stringValue, let size = f["size"]?.intValue else { return nil }
            // A header that does not decode is no header: the file's progress is then dropped.
            let header = f["age_header"]?.stringValue.flatMap { AgeBase64.decode(Array($0.utf8)) }.flatMap { $0.count <= AgeHeader.maxLength + AgeStream.nonceSize ? $0 : nil }
            files.append(
                File(
                    path: path, size: size, done: f["done"]?.boolValue ?? false, chunks: (f["chunks"]?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) },
                    ageHeader: header))
        }
        self.init(backup: backup, vault: vault, manifestSHA256: sha, chunkSize: chunkSize, files: files)
    }

    /// The restore journal formats this agent reads (`format`); a higher one was written by a newer agent.
    /// Format 2: an encrypted file's `.partial` holds plaintext, decrypted range by range (`age_header`);
    /// in format 1 it held the downloaded ciphertext, so such progress is started over. Written as 1
    /// when no file needs `age_header`, so an older agent still continues a plain restore.
    public static let newestFormat = 2

    /// `JOURNAL_TOO_NEW` when the target's journal was written by a newer agent: its progress is
    /// neither misread nor discarded (call before `load`, which treats it as no journal).
    public static func refuseNewer(target: String) throws(AgentError) {
        let p = path(in: target)
        guard let text = AtomicFile.read(p), let format = JSON.parse(text)?["format"]?.intValue, format > newestFormat else { return }
        throw AgentError(
            .journalTooNew,
            "the restore journal \(p) is in format \(format), written by a newer agent; this agent reads format \(newestFormat) and leaves it untouched",
            hint: "finish this restore with the newer agent, or remove \(p) to start it over", exit: .config)
    }

    /// The journal in a target; nil when there is none or it cannot be read.
    public static func load(target: String) -> RestoreJournal? {
        guard let text = AtomicFile.read(path(in: target)), let json = JSON.parse(text) else { return nil }
        return RestoreJournal(json: json)
    }

    /// `space`: for NO_SPACE, what the restore still has to write.
    public func save(target: String, space: StorageErrors.WriteTarget? = nil) throws(AgentError) {
        do {
            try AtomicFile.write(to: RestoreJournal.path(in: target), mode: 0o600) { write(to: &$0) }
        } catch {
            throw StorageErrors.writeFailure("cannot write the restore journal \(RestoreJournal.path(in: target))", errno: error.code, target: space)
        }
    }
}
