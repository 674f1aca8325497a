import AgentSupport
import Foundation
import Hashing
import Providers
import S3StubSupport
import Testing

@testable import Upload

/// The multipart upload's recovery paths driven through the real engine (UploadEngine, S3Client,
/// libcurl, the journal on disk) against the in-process S3 stub; each test looks at the outcome
/// and at the requests the stub received. The state machine's own unit tests script the same
/// paths as events (MultipartUploadStateMachineTests); these prove the engine wires them up.
@Suite(.timeLimit(.minutes(1))) struct UploadRecoveryTests {
    /// 5,000 bytes in parts of 1 KiB: five parts, the last 904 bytes.
    static let size = 5000

    @Test func invalidPartAtCompleteSendsTheDisownedPartAgainAndCompletes() throws {
        let rig = try UploadRig()
        let bytes = try rig.write("db.tar", size: Self.size)
        // At the first Complete the server holds another part 2 than the one we sent (replaced
        // by another writer, or lost and re-stored): its own check answers 400 InvalidPart.
        rig.stub.script = { [stub = rig.stub] r in
            if r.operation == .completeMultipartUpload, r.ordinal == 1, let id = r.uploadID {
                stub.replacePart(uploadID: id, number: 2, bytes: [UInt8](repeating: 0xEE, count: 1024))
            }
            return nil
        }
        let result = try rig.upload(rig.target()).get()
        #expect(rig.stub.object(bucket: "vault-bucket", key: rig.key("db.tar"))?.bytes.md5 == bytes.md5)
        // Parts 1-5, then only part 2 again, in the same upload; a second Complete.
        #expect(rig.partsSent("db.tar") == [1, 2, 3, 4, 5, 2])
        #expect(rig.count(.createMultipartUpload) == 1)
        #expect(rig.count(.listParts) == 1)
        let completes = rig.stub.requests(.completeMultipartUpload)
        #expect(completes.count == 2)
        #expect(Set(completes.compactMap(\.uploadID)).count == 1)
        #expect(result.warnings.contains { $0.contains("InvalidPart at completion") })
        #expect(rig.entry()?.state == .completed)
    }

    @Test func aListedPartWhoseETagDiffersFromTheJournalIsSentAgainOnResume() throws {
        let rig = try UploadRig()
        let bytes = try rig.write("db.tar", size: Self.size)
        // The first run stops at part 4 (refused, not retried): parts 1-3 are in the journal.
        rig.stub.script = { r in
            r.operation == .uploadPart && r.partNumber == 4 && r.ordinal == 4 ? .error(status: 403, code: "AccessDenied", message: "Access Denied") : nil
        }
        #expect(throws: AgentError.self) { try rig.upload(rig.target()).get() }
        let recorded = try #require(rig.entry()?.files.first)
        let uploadID = try #require(recorded.uploadID)
        #expect(recorded.parts.map(\.number) == [1, 2, 3])
        // Meanwhile part 1 on the server was replaced: same size, other bytes, another ETag.
        rig.stub.replacePart(uploadID: uploadID, number: 1, bytes: [UInt8](repeating: 0x11, count: 1024))
        rig.stub.script = nil
        let before = rig.stub.requests.count
        let result = try rig.upload(rig.target()).get()
        #expect(result.resumed)
        // Parts 2 and 3 are adopted by the journal's record; part 1 is sent again, with 4 and 5.
        #expect(rig.partsSent("db.tar", from: before) == [1, 4, 5])
        #expect(rig.count(.createMultipartUpload, from: before) == 0)
        #expect(rig.count(.completeMultipartUpload, from: before) == 1)
        #expect(rig.stub.object(bucket: "vault-bucket", key: rig.key("db.tar"))?.bytes.md5 == bytes.md5)
    }

    /// How an answer is lost: the connection closes before its first byte (libcurl itself tries
    /// a reused connection once more), or in the middle of its body (the S3 client's retry).
    enum Loss: CaseIterable, Sendable {
        case beforeAnyByte, midBody
        var reply: S3Stub.Reply { self == .beforeAnyByte ? .lostAnswer : .truncated(sendBytes: 60) }
    }

    /// `partMD5s`: the vault sends Content-MD5 (the journal holds each part's MD5), or only the
    /// signed SHA-256 (the server's part ETags, MD5s here, predict the object's ETag).
    @Test(arguments: [true, false], Loss.allCases)
    func aLostCompleteAnswerIsRetriedAndTheStoredObjectIsAdopted(partMD5s: Bool, loss: Loss) throws {
        let rig = try UploadRig()
        let bytes = try rig.write("db.tar", size: Self.size)
        // The server completes the upload, but its answer never arrives; the retry finds the
        // upload gone (404 NoSuchUpload), and the object stored is made of our parts.
        rig.stub.script = { r in r.operation == .completeMultipartUpload && r.ordinal == 1 ? loss.reply : nil }
        let result = try rig.upload(rig.target(preferred: partMD5s ? .contentMD5 : .signedPayload)).get()
        let completes = rig.stub.requests(.completeMultipartUpload)
        #expect(completes.count >= 2)
        #expect(completes[0].bodyMD5 == completes[1].bodyMD5)
        // A HEAD of the object decided.
        #expect(rig.stub.requests(.headObject).contains { $0.key == rig.key("db.tar") })
        let stored = try #require(rig.stub.object(bucket: "vault-bucket", key: rig.key("db.tar")))
        #expect(stored.bytes.md5 == bytes.md5)
        #expect(result.files.first { $0.path == "db.tar" }?.etag == stored.etag)
        #expect(rig.entry()?.state == .completed)
        #expect(rig.stub.uploads(bucket: "vault-bucket").isEmpty)
        // Nothing sent again: one upload, each part once (without Content-MD5 the part ETags,
        // MD5s on this provider, prove the object ours).
        #expect(completes.count == 2)
        #expect(rig.count(.createMultipartUpload) == 1)
        #expect(rig.partsSent("db.tar") == [1, 2, 3, 4, 5])
        #expect(rig.count(.abortMultipartUpload) == 0)
    }

    @Test func noSuchUploadAtCompleteWithAnObjectThatIsNotOursStartsTheFileOver() throws {
        let rig = try UploadRig()
        let bytes = try rig.write("db.tar", size: Self.size)
        // At the first Complete the upload is gone and another object of the same size sits at
        // the key: its ETag is not the one our parts give, so it is not adopted.
        rig.stub.script = { [stub = rig.stub, key = rig.key("db.tar")] r in
            if r.operation == .completeMultipartUpload, r.ordinal == 1, let id = r.uploadID {
                stub.forgetUpload(id)
                stub.putObject(bucket: "vault-bucket", key: key, bytes: [UInt8](repeating: 0x42, count: Self.size))
            }
            return nil
        }
        let result = try rig.upload(rig.target()).get()
        #expect(rig.stub.object(bucket: "vault-bucket", key: rig.key("db.tar"))?.bytes.md5 == bytes.md5)
        #expect(rig.count(.createMultipartUpload) == 2)
        #expect(rig.partsSent("db.tar") == [1, 2, 3, 4, 5, 1, 2, 3, 4, 5])
        #expect(rig.count(.completeMultipartUpload) == 2)
        #expect(result.warnings.contains { $0.contains("NoSuchUpload on complete") })
    }

    @Test(arguments: Loss.allCases)
    func aLostCompleteAnswerRetriedAgainstAServerThatAnswersItAgainCompletes(loss: Loss) throws {
        let rig = try UploadRig()
        let bytes = try rig.write("db.tar", size: Self.size)
        // AWS answers a repeated Complete of a completed upload with its result for a while.
        rig.stub.completeIsIdempotent = true
        rig.stub.script = { r in r.operation == .completeMultipartUpload && r.ordinal == 1 ? loss.reply : nil }
        let result = try rig.upload(rig.target()).get()
        #expect(rig.count(.completeMultipartUpload) == 2)
        #expect(rig.count(.createMultipartUpload) == 1)
        #expect(rig.partsSent("db.tar") == [1, 2, 3, 4, 5])
        let stored = try #require(rig.stub.object(bucket: "vault-bucket", key: rig.key("db.tar")))
        #expect(stored.bytes.md5 == bytes.md5)
        #expect(result.files.first { $0.path == "db.tar" }?.etag == stored.etag)
    }

    @Test func completeAnswersLostUntilTheRunGivesUpThenTheNextRunFinishes() throws {
        let rig = try UploadRig()
        let bytes = try rig.write("db.tar", size: Self.size)
        // Every answer to Complete is lost in the first run (the network is down on the way back).
        let losing = Shared(true)
        rig.stub.script = { r in r.operation == .completeMultipartUpload && losing.value ? .lostAnswer : nil }
        let failure = try #require(throws: AgentError.self) { try rig.upload(rig.target(maxAttempts: 2)).get() }
        #expect(failure.exitStatus == .tempFail)
        #expect(rig.entry()?.state == .interrupted)
        let firstUpload = try #require(rig.entry()?.files.first?.uploadID)
        losing.value = false
        let before = rig.stub.requests.count
        let result = try rig.upload(rig.target()).get()
        #expect(result.resumed)
        // The resume asks for the upload's parts, learns it is gone, and sends the file again
        // in a new upload (the object the lost Complete stored is then replaced by the same bytes).
        #expect(rig.stub.requests.dropFirst(before).first { $0.operation == .listParts }?.uploadID == firstUpload)
        #expect(rig.count(.createMultipartUpload, from: before) == 1)
        #expect(rig.stub.object(bucket: "vault-bucket", key: rig.key("db.tar"))?.bytes.md5 == bytes.md5)
        #expect(rig.stub.uploads(bucket: "vault-bucket").isEmpty)
        #expect(rig.entry()?.state == .completed)
    }

    @Test(arguments: [false, true])
    func aVaultRetargetedBetweenAttemptsDoesNotReuseTheOldUpload(otherEndpoint: Bool) throws {
        let rig = try UploadRig()
        let bytes = try rig.write("db.tar", size: Self.size)
        rig.stub.script = { r in
            r.operation == .uploadPart && r.partNumber == 4 ? .error(status: 403, code: "AccessDenied", message: "Access Denied") : nil
        }
        #expect(throws: AgentError.self) { try rig.upload(rig.target(bucket: "old-bucket")).get() }
        let oldUpload = try #require(rig.entry()?.files.first?.uploadID)
        rig.stub.script = nil
        // The vault now names another bucket (same server) or another server.
        let other = otherEndpoint ? try S3Stub() : nil
        defer { other?.stop() }
        let newServer = other ?? rig.stub
        let before = rig.stub.requests.count
        let result = try rig.upload(rig.target(bucket: "new-bucket", endpoint: other?.endpoint)).get()
        #expect(!result.resumed)
        #expect(result.warnings.contains { $0.contains("now points to another bucket, endpoint or prefix") })
        // The old upload is never listed, added to or completed anywhere.
        let oldSide = rig.stub.requests.dropFirst(before)
        let everywhere = Array(oldSide) + (other?.requests ?? [])
        #expect(!everywhere.contains { ($0.operation == .listParts || $0.operation == .completeMultipartUpload || $0.operation == .uploadPart) && $0.uploadID == oldUpload })
        let aborts = everywhere.filter { $0.operation == .abortMultipartUpload }
        if otherEndpoint {
            // On another server it is left where it is (that server may be gone), and the warning says where.
            #expect(aborts.isEmpty)
            #expect(rig.stub.uploads(bucket: "old-bucket").keys.sorted() == [oldUpload])
            #expect(result.warnings.contains { $0.contains("stay in bucket old-bucket at \(rig.stub.endpoint)") })
        } else {
            // On the same server it is aborted in the bucket it was made in.
            #expect(aborts.map { "\($0.bucket) \($0.uploadID ?? "")" } == ["old-bucket \(oldUpload)"])
            #expect(rig.stub.uploads(bucket: "old-bucket").isEmpty)
        }
        // The whole file goes to the new place in a new upload.
        #expect(newServer.requests.filter { $0.operation == .uploadPart && $0.bucket == "new-bucket" }.compactMap(\.partNumber) == [1, 2, 3, 4, 5])
        #expect(newServer.object(bucket: "new-bucket", key: rig.key("db.tar"))?.bytes.md5 == bytes.md5)
        #expect(rig.entry()?.bucket == "new-bucket")
    }

    @Test func theObjectLockContentMD5DemandOnAPartIsMetBySendingItAgainWithContentMD5() throws {
        let rig = try UploadRig()
        let bytes = try rig.write("db.tar", size: Self.size)
        // A bucket with a default retention: AWS refuses a write without Content-MD5 (or a
        // checksum header). The vault sets no object_lock_mode, so the agent learns it here.
        rig.stub.requireContentMD5 = true
        rig.stub.script = { r in
            // A runaway loop of refusals ends the test instead of hanging it.
            r.operation == .uploadPart && r.ordinal > 20 ? .error(status: 403, code: "AccessDenied", message: "runaway") : nil
        }
        let result = try rig.upload(rig.target()).get()
        let parts = rig.stub.requests(.uploadPart)
        // Part 1 was refused once; every part was then stored with a Content-MD5 of its bytes.
        #expect(parts.filter { $0.header("Content-MD5") == nil }.map(\.partNumber) == [1])
        #expect(parts.filter { $0.header("Content-MD5") != nil }.compactMap(\.partNumber).sorted() == [1, 2, 3, 4, 5])
        #expect(rig.stub.object(bucket: "vault-bucket", key: rig.key("db.tar"))?.bytes.md5 == bytes.md5)
        // The offsite manifest, written after, carries it from the start.
        #expect(rig.stub.requests(.putObject).allSatisfy { $0.header("Content-MD5") != nil })
        #expect(result.warnings.filter { $0.contains("requires Content-MD5") }.count == 1)
    }

    @Test func theObjectLockContentMD5DemandOnASinglePutIsMetBySendingItAgainWithContentMD5() throws {
        let rig = try UploadRig()
        let small = try rig.write("small.sql.gz", size: 300, seed: 2)
        let large = try rig.write("db.tar", size: Self.size)
        rig.stub.requireContentMD5 = true
        rig.stub.script = { r in
            (r.operation == .putObject || r.operation == .uploadPart) && r.ordinal > 20 ? .error(status: 403, code: "AccessDenied", message: "runaway") : nil
        }
        let result = try rig.upload(rig.target()).get()
        let puts = rig.stub.requests(.putObject).filter { $0.key == rig.key("small.sql.gz") }
        #expect(puts.map { $0.header("Content-MD5") != nil } == [false, true])
        #expect(rig.stub.object(bucket: "vault-bucket", key: rig.key("small.sql.gz"))?.bytes.md5 == small.md5)
        // Learned once for the run: the parts of the large file carry it from the start.
        #expect(rig.stub.requests(.uploadPart).allSatisfy { $0.header("Content-MD5") != nil })
        #expect(rig.stub.object(bucket: "vault-bucket", key: rig.key("db.tar"))?.bytes.md5 == large.md5)
        #expect(result.warnings.filter { $0.contains("requires Content-MD5") }.count == 1)
    }

    @Test func sseKMSETagsAreAdoptedByTheJournalsRecordAndAnUnrecordedPartIsSentAgain() throws {
        let rig = try UploadRig()
        let bytes = try rig.write("db.tar", size: Self.size)
        // SSE-KMS: no ETag is the MD5 of anything sent.
        rig.stub.etagStyle = .opaque
        rig.stub.serverSideEncryption = "aws:kms"
        // The first run: part 4 is stored but every answer to it is lost, so the journal never
        // records it (like a kill between the answer and the journal write).
        let losing = Shared(true)
        rig.stub.script = { r in r.operation == .uploadPart && r.partNumber == 4 && losing.value ? .lostAnswer : nil }
        #expect(throws: AgentError.self) { try rig.upload(rig.target(maxAttempts: 1, serverSideEncryption: "aws:kms")).get() }
        let recorded = try #require(rig.entry()?.files.first)
        #expect(recorded.parts.map(\.number) == [1, 2, 3])
        let uploadID = try #require(recorded.uploadID)
        #expect(rig.stub.uploads(bucket: "vault-bucket")[uploadID]?.parts.keys.sorted() == [1, 2, 3, 4])
        losing.value = false
        let before = rig.stub.requests.count
        let result = try rig.upload(rig.target(serverSideEncryption: "aws:kms")).get()
        // Parts 1-3 are ours by the journal's record (same ETag, same size); part 4's ETag
        // proves nothing (it is no MD5 of our bytes), so it is sent again, with part 5.
        #expect(rig.partsSent("db.tar", from: before) == [4, 5])
        let stored = try #require(rig.stub.object(bucket: "vault-bucket", key: rig.key("db.tar")))
        #expect(stored.bytes.md5 == bytes.md5)
        // The stored ETag is no MD5 of MD5s: the verification does not hold it against us.
        #expect(stored.etag != MultipartUploadStateMachine.expectedETag(rig.entry()?.files.first?.parts ?? []))
        #expect(result.files.first { $0.path == "db.tar" }?.etag == stored.etag)
        #expect(rig.entry()?.state == .completed)
    }

    /// With Content-MD5 the engine knows the ETag an unencrypted object would have: only the
    /// HEAD's `x-amz-server-side-encryption: aws:kms` keeps it from calling the object altered.
    @Test(arguments: [IntegrityMode.contentMD5, .signedPayload])
    func aBucketThatEncryptsWithKMSByDefaultIsVerifiedWithoutComparingETags(preferred: IntegrityMode) throws {
        let rig = try UploadRig()
        let bytes = try rig.write("db.tar", size: Self.size)
        // The vault configures no encryption; the bucket's default is SSE-KMS.
        rig.stub.etagStyle = .opaque
        rig.stub.serverSideEncryption = "aws:kms"
        let result = try rig.upload(rig.target(preferred: preferred)).get()
        #expect(rig.stub.object(bucket: "vault-bucket", key: rig.key("db.tar"))?.bytes.md5 == bytes.md5)
        #expect(rig.partsSent("db.tar") == [1, 2, 3, 4, 5])
        #expect(rig.stub.requests(.headObject).contains { $0.key == rig.key("db.tar") })
        #expect(result.files.count == 1)
    }
}
