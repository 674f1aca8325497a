import AgentSupport
import Hashing

/// A backup's `offsite-manifest.json` (SPEC 5), as the upload engine writes it: what a complete
/// offsite copy holds and the strong checksum of every file.
public struct OffsiteManifest: Sendable {
    /// How a file's content is checked: a whole-file SHA-256, or one SHA-256 per upload part.
    public enum Checksum: Sendable, Equatable {
        case sha256(String)
        case parts(partSize: Int64, sha256: [String])
        /// The whole object's CRC-32C, sent as x-amz-checksum-crc32c over TLS and verified by the
        /// server (issue 17); weaker than SHA-256 against tampering, not against damage.
        case crc32c(UInt32)
        /// The manifest gives nothing to check against (only the size can be verified).
        case none
    }

    /// How a file is stored encrypted: the format (`age`) and its recipients' public keys.
    public struct Encryption: Sendable, Equatable {
        public var format: String
        public var recipients: [String]
        public init(format: String, recipients: [String]) {
            self.format = format
            self.recipients = recipients
        }
    }

    /// One file of the backup.
    public struct File: Sendable, Equatable {
        /// Path relative to the backup directory, as the manifest names it (not yet validated).
        public var path: String
        public var key: String
        /// Bytes of the stored object: what is downloaded, ranged and hashed.
        public var size: Int64
        public var etag: String
        public var checksum: Checksum
        /// Set when the stored object is encrypted; then `plaintextSize` is the restored file's size.
        public var encryption: Encryption?
        public var plaintextSize: Int64

        public init(path: String, key: String, size: Int64, etag: String, checksum: Checksum, encryption: Encryption? = nil, plaintextSize: Int64? = nil) {
            self.path = path
            self.key = key
            self.size = size
            self.etag = etag
            self.checksum = checksum
            self.encryption = encryption
            self.plaintextSize = plaintextSize ?? size
        }

        /// The byte ranges that carry a checksum of their own, in file order, with the expected
        /// hex SHA-256 (nil: nothing to compare). An empty file is one empty segment.
        public var segments: [Segment] {
            switch checksum {
            case .sha256(let hex):
                return [Segment(offset: 0, length: size, sha256: hex.lowercased())]
            case .crc32c(let crc):
                return [Segment(offset: 0, length: size, sha256: nil, crc32c: crc)]
            case .none:
                return [Segment(offset: 0, length: size, sha256: nil)]
            case .parts(let partSize, let hashes):
                var out: [Segment] = []
                var offset: Int64 = 0
                for (i, hex) in hashes.enumerated() {
                    let length = i == hashes.count - 1 ? size - offset : min(partSize, size - offset)
                    out.append(Segment(offset: offset, length: max(0, length), sha256: hex.lowercased()))
                    offset += max(0, length)
                }
                return out.isEmpty ? [Segment(offset: 0, length: size, sha256: nil)] : out
            }
        }

        /// A multipart file whose part list cannot describe its size (a damaged manifest).
        public var partsAreConsistent: Bool {
            guard case .parts(let partSize, let hashes) = checksum else { return true }
            guard partSize > 0, !hashes.isEmpty else { return false }
            let expected = max(1, (size + partSize - 1) / partSize)
            return Int64(hashes.count) == expected
        }
    }

    /// A byte range of a file with its own expected SHA-256 or CRC-32C.
    public struct Segment: Sendable, Equatable {
        public var offset: Int64
        public var length: Int64
        public var sha256: String?
        public var crc32c: UInt32? = nil

        public init(offset: Int64, length: Int64, sha256: String?, crc32c: UInt32? = nil) {
            self.offset = offset
            self.length = length
            self.sha256 = sha256
            self.crc32c = crc32c
        }
    }

    public var backup: String
    public var host: String
    public var type: String?
    public var createdAt: String?
    public var uploadedAt: String?
    public var agentVersion: String?
    public var files: [File]

    public init(backup: String, host: String, type: String? = nil, createdAt: String? = nil, uploadedAt: String? = nil, agentVersion: String? = nil, files: [File]) {
        self.backup = backup
        self.host = host
        self.type = type
        self.createdAt = createdAt
        self.uploadedAt = uploadedAt
        self.agentVersion = agentVersion
        self.files = files
    }

    /// When the backup was made: `created_at` (the backup job's time), else `uploaded_at`.
    public var date: Int64? {
        createdAt.flatMap(Timestamp.parseISO8601) ?? uploadedAt.flatMap(Timestamp.parseISO8601)
    }

    public var totalBytes: Int64 { files.saturatingSum(\.size) }

    /// Whether any file is stored encrypted (restoring its content needs an identity).
    public var isEncrypted: Bool { files.contains { $0.encryption != nil } }

    /// Identifies this manifest's content: a restore's progress belongs to one fingerprint.
    public var fingerprint: String {
        let digest = Digest(.sha256)
        digest.update("\(backup)\u{0}\(uploadedAt ?? "")\n")
        for f in files {
            digest.update("\(f.path)\u{0}\(f.key)\u{0}\(f.size)\u{0}\(f.checksum)\n")
        }
        return digest.finalize().hexString
    }

    /// Reads a manifest; nil when the text is not a manifest this agent understands.
    public static func parse(_ text: String) -> OffsiteManifest? {
        try? decode(text)
    }

    /// Why a vault's object is not a manifest this agent reads.
    public struct DecodeError: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// S3's largest object (5 TiB): a larger size is not a file any upload produced.
    public static let maxFileSize: Int64 = 5 << 40
    /// S3's largest part (5 GiB).
    public static let maxPartSize: Int64 = 5 << 30
    /// More files than any backup holds; with `maxFileSize` it keeps every total within Int64.
    public static let maxFiles = 1_000_000

    /// Reads a manifest, or says why it is not one. The vault's content is outside input: any text
    /// gives a manifest or an error, and the values downstream code does arithmetic with are in range.
    public static func decode(_ text: String) throws(DecodeError) -> OffsiteManifest {
        try decode(bytes: Array(text.utf8))
    }

    /// Reads a manifest from the bytes a GET brought, without a text copy of them first (issue 19).
    public static func decode(bytes: [UInt8]) throws(DecodeError) -> OffsiteManifest {
        let json: JSON
        do {
            json = try JSON.decode(bytes: bytes)
        } catch {
            throw DecodeError(reason: "not JSON (\(error))")
        }
        guard json.objectValue != nil else { throw DecodeError(reason: "not a JSON object") }
        if let format = json["format"], format.intValue != 1 && format.intValue != 2 {
            throw DecodeError(reason: "format \(format.serialized()) (this agent reads formats 1 and 2)")
        }
        guard let backup = json["backup"]?.stringValue else { throw DecodeError(reason: "no \"backup\" name") }
        guard let list = json["files"]?.arrayValue else { throw DecodeError(reason: "no \"files\" list") }
        guard list.count <= maxFiles else { throw DecodeError(reason: "more than \(maxFiles) files") }
        var files: [File] = []
        files.reserveCapacity(list.count)
        for (n, item) in list.enumerated() {
            guard let path = item["path"]?.stringValue else { throw DecodeError(reason: "file \(n + 1) has no path") }
            guard let size = item["size"]?.intValue, (0...maxFileSize).contains(size) else {
                throw DecodeError(reason: "file \(n + 1) has no size between 0 and 5 TiB")
            }
            var checksum = Checksum.none
            if let hex = item["sha256"]?.stringValue {
                checksum = .sha256(hex)
            } else if let text = item["crc32c"]?.stringValue {
                // A value that is not 8 hex digits is a damaged manifest, not a file with nothing to check.
                guard let crc = CRC32C.parseHex(text) else { throw DecodeError(reason: "file \(n + 1) has a crc32c that is not 8 hex digits") }
                checksum = .crc32c(crc)
            } else if let partSizeValue = item["part_size"], let parts = item["sha256_parts"]?.arrayValue {
                guard let partSize = partSizeValue.intValue, (1...maxPartSize).contains(partSize) else {
                    throw DecodeError(reason: "file \(n + 1) has no part size between 1 byte and 5 GiB")
                }
                checksum = .parts(partSize: partSize, sha256: parts.compactMap(\.stringValue))
            }
            var encryption: Encryption?
            var stored = size
            if let e = item["encryption"], let format = e["format"]?.stringValue {
                // An encrypted file: `size` is the plaintext's, `stored_size` the object's.
                guard format == "age" else { throw DecodeError(reason: "file \(n + 1) is encrypted as \(format.debugDescription), not age") }
                // age adds 16 bytes per 64 KiB chunk and a header: a 1/1024 margin is ample.
                guard let storedSize = item["stored_size"]?.intValue, storedSize >= size, storedSize <= maxFileSize + maxFileSize / 1024 else {
                    throw DecodeError(reason: "file \(n + 1) has no stored size between its size and 5 TiB")
                }
                encryption = Encryption(format: format, recipients: (e["recipients"]?.arrayValue ?? []).compactMap(\.stringValue))
                stored = storedSize
            }
            files.append(
                File(
                    path: path, key: item["key"]?.stringValue ?? "", size: stored, etag: item["etag"]?.stringValue ?? "", checksum: checksum,
                    encryption: encryption, plaintextSize: size))
        }
        return OffsiteManifest(
            backup: backup, host: json["host"]?.stringValue ?? "", type: json["type"]?.stringValue, createdAt: json["created_at"]?.stringValue,
            uploadedAt: json["uploaded_at"]?.stringValue, agentVersion: json["agent_version"]?.stringValue, files: files)
    }
}
