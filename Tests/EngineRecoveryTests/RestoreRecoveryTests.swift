import AgentSupport
import Backups
import Foundation
import HTTPTransport
import Logging
import S3StubSupport
import Testing
import Vault

@testable import Restore

/// The restore's recovery paths through the real engine (RestoreEngine, its ranged GETs over
/// libcurl) against the S3 stub: the backup is first uploaded by the real UploadEngine, so the
/// offsite manifest is the writer's own. Only the public entry point is used.
@Suite(.timeLimit(.minutes(1))) struct RestoreRecoveryTests {
    static let size = 5000

    /// Uploads a backup of `db.tar` (5,000 bytes) and `small.sql.gz` (300 bytes); returns their bytes.
    static func uploaded(_ rig: UploadRig) throws -> (large: [UInt8], small: [UInt8]) {
        let large = try rig.write("db.tar", size: size)
        let small = try rig.write("small.sql.gz", size: 300, seed: 2)
        _ = try rig.upload(rig.target()).get()
        return (large, small)
    }

    /// One `agent restore` into `<dir>/restore`, in ranges of 1 KiB, one in flight.
    static func restore(_ rig: UploadRig, maxAttempts: Int = 3) -> (Result<RestoreResult, AgentError>, VaultSession) {
        var endpoint = rig.target(maxAttempts: maxAttempts).endpoint
        endpoint.concurrency = 1
        let logger = Logger(label: "stub-test") { _ in SwiftLogNoOpLogHandler() }
        let session = VaultSession(endpoint: endpoint, http: HTTPClient(), logger: logger, retryBaseDelay: 0.01)
        let engine = RestoreEngine(session: session)
        engine.chunkSize = 1024
        do {
            return (.success(try engine.restore(backup: UploadRig.backupID, into: rig.dir.path + "/restore", force: false)), session)
        } catch {
            return (.failure(error), session)
        }
    }

    static func restored(_ rig: UploadRig, _ name: String) -> [UInt8]? {
        FileManager.default.contents(atPath: rig.dir.path + "/restore/" + name).map { Array($0) }
    }

    /// The Range headers of the GETs of one object, in order.
    static func ranges(_ rig: UploadRig, _ name: String, from: Int = 0) -> [String] {
        rig.stub.requests.dropFirst(from).filter { $0.operation == .getObject && $0.key == rig.key(name) }.map { $0.header("Range") ?? "whole" }
    }

    @Test func aRangeAnswered503IsAskedForAgainAndTheFileIsRestored() throws {
        let rig = try UploadRig()
        let (large, small) = try Self.uploaded(rig)
        let before = rig.stub.requests.count
        // The first GET of the second range is answered 503 SlowDown.
        let refused = Shared(false)
        rig.stub.script = { [key = rig.key("db.tar")] r in
            guard r.operation == .getObject, r.key == key, r.header("Range") == "bytes=1024-2047", !refused.value else { return nil }
            refused.value = true
            return .error(status: 503, code: "SlowDown", message: "Please reduce your request rate.")
        }
        let (outcome, session) = Self.restore(rig)
        let result = try outcome.get()
        #expect(result.files.allSatisfy { $0.status == .restored })
        #expect(Self.restored(rig, "db.tar")?.md5 == large.md5)
        #expect(Self.restored(rig, "small.sql.gz")?.md5 == small.md5)
        let ranges = Self.ranges(rig, "db.tar", from: before)
        #expect(ranges.filter { $0 == "bytes=1024-2047" }.count == 2)
        #expect(Set(ranges) == ["bytes=0-1023", "bytes=1024-2047", "bytes=2048-3071", "bytes=3072-4095", "bytes=4096-4999"])
        #expect(session.retries == 1)
    }

    @Test func aTruncatedBodyIsAskedForAgainAndTheFileIsRestored() throws {
        let rig = try UploadRig()
        let (large, _) = try Self.uploaded(rig)
        let before = rig.stub.requests.count
        // The answer announces 1,024 bytes and the connection ends after 100 of them.
        let cut = Shared(false)
        rig.stub.script = { [key = rig.key("db.tar")] r in
            guard r.operation == .getObject, r.key == key, r.header("Range") == "bytes=2048-3071", !cut.value else { return nil }
            cut.value = true
            return .truncated(sendBytes: 100)
        }
        let (outcome, session) = Self.restore(rig)
        let result = try outcome.get()
        #expect(result.files.allSatisfy { $0.status == .restored })
        #expect(Self.restored(rig, "db.tar")?.md5 == large.md5)
        #expect(Self.ranges(rig, "db.tar", from: before).filter { $0 == "bytes=2048-3071" }.count == 2)
        #expect(session.retries == 1)
        #expect(!FileManager.default.fileExists(atPath: rig.dir.path + "/restore/" + Backup.inProgressMarker))
    }

    @Test func anObjectReplacedMidRestoreIsRefusedAndNothingIsPutInPlace() throws {
        let rig = try UploadRig()
        let (_, small) = try Self.uploaded(rig)
        // After the first two ranges, the object is replaced (another upload, another ETag):
        // the rest of the file comes from other bytes.
        let replaced = Shared(false)
        rig.stub.script = { [stub = rig.stub, key = rig.key("db.tar")] r in
            if r.operation == .getObject, r.key == key, r.header("Range") == "bytes=2048-3071", !replaced.value {
                replaced.value = true
                stub.putObject(bucket: "vault-bucket", key: key, bytes: [UInt8](repeating: 0x5A, count: Self.size))
            }
            return nil
        }
        let (outcome, _) = Self.restore(rig)
        switch outcome {
        case .success(let result):
            #expect(result.files.first { $0.path == "db.tar" }?.status == .mismatch)
            #expect(result.error?.code == .verifyMismatch)
        case .failure(let error):
            #expect(error.code == .verifyMismatch)
        }
        #expect(replaced.value)
        // Never a file at its final path with bytes the manifest does not vouch for.
        #expect(Self.restored(rig, "db.tar") == nil)
        #expect(Self.restored(rig, "small.sql.gz")?.md5 == small.md5)
    }
}
