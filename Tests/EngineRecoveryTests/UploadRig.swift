import AgentSupport
import Backups
import Foundation
import HTTPTransport
import Hashing
import Logging
import Providers
import S3
import S3StubSupport
import SigV4
import TestSupport
import Testing

@testable import Upload

/// One backup directory, one journal and the S3 stub: the real `UploadEngine` (S3Client, libcurl,
/// the digest pool, the journal on disk) sends to the stub over loopback HTTP.
final class UploadRig {
    let stub: S3Stub
    let dir: TemporaryDirectory
    let journal: Journal
    /// One hashing thread: parts are hashed, and so sent (one in flight), in order.
    let digestPool = DigestPool(threads: 1)
    var backupDir: String { dir.path + "/backups" }
    static let backupID = "2026-11-26-db"
    static let prefix = "web-01/"

    init() throws {
        stub = try S3Stub()
        dir = try TemporaryDirectory()
        journal = Journal(stateDir: dir.path + "/state")
        try FileManager.default.createDirectory(atPath: backupDir + "/" + Self.backupID, withIntermediateDirectories: true)
    }

    deinit { stub.stop() }

    /// Writes a file of the backup with bytes no other file has; returns them.
    @discardableResult
    func write(_ name: String, size: Int, seed: UInt8 = 1) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        var x = UInt32(seed) &* 2_654_435_761 &+ 12345
        for i in 0..<size {
            x = x &* 1_103_515_245 &+ 12345
            bytes[i] = UInt8(truncatingIfNeeded: x >> 16)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: backupDir + "/" + Self.backupID + "/" + name))
        return bytes
    }

    func backup() throws -> Backup {
        try BackupResolver(backupDir: backupDir).resolve(Self.backupID)
    }

    /// A vault of an AWS-like provider at `endpoint` (the stub's by default): signed payloads
    /// verified (`preferred`: or Content-MD5, which records each part's MD5), ETags are MD5s, parts of 1 KiB from 4 KiB on, one request in flight (the
    /// recorded order is the engine's), quick retries.
    func target(
        bucket: String = "vault-bucket", endpoint: String? = nil, concurrency: Int = 1, maxAttempts: Int = 3, serverSideEncryption: String? = nil,
        preferred: IntegrityMode = .signedPayload
    ) -> UploadTarget {
        let location = S3Location(endpoint: endpoint ?? stub.endpoint, bucket: bucket, region: "us-east-1", pathStyle: true)!
        let limits = MultipartLimits(
            minPartSize: 1024, maxPartSize: 5 << 30, maxParts: 10000, equalParts: false, maxSinglePut: 5 << 30, maxObjectSize: 5 << 40,
            multipartThreshold: 4096)
        let integrity = IntegritySupport(
            signedPayload: true, unsignedPayload: true, contentMD5: true, checksumAlgorithms: ["crc32c", "sha256"], awsChunked: false,
            preferred: preferred, etagIsMD5: true)
        var transfer = TransferOptions()
        transfer.connectTimeout = 5
        return UploadTarget(
            vault: "offsite", location: location, credentials: SigningCredentials(accessKeyID: "AKIAEXAMPLESTUB", secretAccessKey: "stub-secret"),
            prefix: Self.prefix, limits: limits, integrity: integrity, partSize: 1024, multipartThreshold: 4096, concurrency: concurrency,
            bandwidthLimit: 0, transfer: transfer, maxAttempts: maxAttempts, storageClass: nil, serverSideEncryption: serverSideEncryption, host: "web-01")
    }

    /// One `agent upload` of the backup: a new engine and HTTP client, the journal on disk kept.
    func upload(_ target: UploadTarget, force: Bool = false) throws -> Result<UploadResult, AgentError> {
        let backup = try backup()
        let logger = Logger(label: "stub-test") { _ in SwiftLogNoOpLogHandler() }
        let engine = UploadEngine(target: target, journal: journal, http: HTTPClient(), logger: logger, retryBaseDelay: 0.01)
        engine.digestPool = digestPool
        do {
            return .success(try engine.upload(backup: backup, force: force))
        } catch {
            return .failure(error)
        }
    }

    func key(_ name: String) -> String { Self.prefix + Self.backupID + "/" + name }

    /// The journal entry of the backup's upload to the vault.
    func entry() -> JournalEntry? {
        if case .entry(let e) = journal.load(Journal.entryID(backup: Self.backupID, vault: "offsite")) { return e }
        return nil
    }

    /// Part numbers of the UploadPart requests for `key`, from request `from` on, in order.
    func partsSent(_ name: String, from: Int = 0) -> [Int] {
        stub.requests.dropFirst(from).filter { $0.operation == .uploadPart && $0.key == key(name) }.compactMap(\.partNumber)
    }

    func count(_ operation: S3Stub.Operation, from: Int = 0) -> Int {
        stub.requests.dropFirst(from).filter { $0.operation == operation }.count
    }
}

/// A value the stub's script and the test share (the script runs on the stub's threads).
final class Shared<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: Value
    init(_ value: Value) { _value = value }
    var value: Value {
        get { lock.withLock { _value } }
        set { lock.withLock { _value = newValue } }
    }
}

extension Array where Element == UInt8 {
    /// Compared instead of the bytes: a failed expectation prints 32 characters, not the file.
    var md5: String { Digest.md5(self).hexString }
}
