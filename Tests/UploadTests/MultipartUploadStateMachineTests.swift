import AgentSupport
import Backups
import Hashing
import Testing

@testable import S3
@testable import Upload

/// The multipart upload of one file, scripted: each test plays the server's answers to the state
/// machine as events and checks the action it asks for next. No network, every recovery path.
@Suite struct MultipartUploadStateMachineTests {
    typealias Machine = MultipartUploadStateMachine
    static let plan = PartPlan(fileSize: 25, partSize: 10, partCount: 3)

    static func part(_ n: Int, md5: String? = nil) -> JournalEntry.Part {
        let length = plan.range(of: n).length
        let md5 = md5 ?? Digest.md5(Array(repeating: UInt8(n), count: Int(length))).hexString
        return JournalEntry.Part(number: n, etag: md5, size: length, sha256: String(repeating: "\(n)", count: 64), md5: md5)
    }

    /// A machine that created upload `u1` and has every part stored, ready to complete.
    static func readyToComplete() -> (Machine, [JournalEntry.Part], String?) {
        var m = Machine(path: "big.tar", plan: plan)
        guard case .createUpload = m.start(recordedUploadID: nil) else { fatalError() }
        guard case .sendParts("u1") = m.uploadCreated("u1", plan: plan) else { fatalError() }
        while let n = m.nextPart() { m.partStored(part(n)) }
        guard case .complete("u1", let parts, let expected) = m.partsSettled(interrupted: false) else { fatalError() }
        return (m, parts, expected)
    }

    @Test func aFreshUploadCreatesSendsEveryPartCompletesAndVerifies() {
        let (m0, parts, expected) = Self.readyToComplete()
        var m = m0
        #expect(parts.map(\.number) == [1, 2, 3])
        // S3's multipart ETag: MD5 of the parts' MD5s, then -count.
        var concatenated: [UInt8] = []
        for p in parts { concatenated += Hex.decode(p.md5 ?? "") ?? [] }
        #expect(expected == Digest.md5(concatenated).hexString + "-3")
        guard case .verify(let etag, let verified, let e) = m.completed(etag: "abc-3") else { Issue.record("no verify"); return }
        #expect(etag == "abc-3" && verified == parts && e == expected)
    }

    @Test func partsAreClaimedOnceAndNothingIsClaimedAfterAFailure() {
        var m = Machine(path: "big.tar", plan: Self.plan)
        _ = m.start(recordedUploadID: nil)
        _ = m.uploadCreated("u1", plan: Self.plan)
        #expect(m.nextPart() == 1)
        #expect(m.nextPart() == 2)
        m.partRefused(1, .failed(AgentError(.retriesExhausted, "down", hint: "")), sentWithMD5: false)
        #expect(m.isStopping)
        #expect(m.nextPart() == nil)
        m.partStored(Self.part(2))
        guard case .fail(let error, let abort) = m.partsSettled(interrupted: false) else { Issue.record("no failure"); return }
        #expect(error.code == .retriesExhausted)
        #expect(abort == nil)  // resumable: the upload and its parts stay for `agent resume`
    }

    @Test func aFileThatChangedAbortsItsUpload() {
        var m = Machine(path: "big.tar", plan: Self.plan)
        _ = m.start(recordedUploadID: nil)
        _ = m.uploadCreated("u1", plan: Self.plan)
        _ = m.nextPart()
        m.failed(AgentError(.sourceChanged, "changed", hint: ""))
        guard case .fail(let error, let abort) = m.partsSettled(interrupted: false) else { Issue.record("no failure"); return }
        #expect(error.code == .sourceChanged)
        #expect(abort == "u1")
    }

    @Test func anInterruptionKeepsTheUploadForResume() {
        var m = Machine(path: "big.tar", plan: Self.plan)
        _ = m.start(recordedUploadID: nil)
        _ = m.uploadCreated("u1", plan: Self.plan)
        m.partStored(Self.part(m.nextPart() ?? 0))
        guard case .fail(let error, let abort) = m.partsSettled(interrupted: true) else { Issue.record("no failure"); return }
        #expect(error.code == .interrupted && error.exitStatus == .tempFail)
        #expect(abort == nil)
    }

    /// `InvalidPart` at Complete: the server disowns a part. ListParts decides which it holds,
    /// only the others are sent again, in the same upload.
    @Test func invalidPartAtCompleteListsThePartsAndSendsOnlyTheMissingOne() {
        var (m, _, _) = Self.readyToComplete()
        guard case .listParts("u1", let because) = m.completeRefused(.invalidPart(code: "InvalidPart")) else { Issue.record("no ListParts"); return }
        #expect(because == "InvalidPart at completion")
        guard case .sendParts("u1") = m.partsListed(held: [1: Self.part(1), 3: Self.part(3)]) else { Issue.record("no sending"); return }
        #expect(m.nextPart() == 2)
        #expect(m.nextPart() == nil)
        m.partStored(Self.part(2))
        guard case .complete(_, let parts, _) = m.partsSettled(interrupted: false) else { Issue.record("no complete"); return }
        #expect(parts.map(\.number) == [1, 2, 3])
    }

    @Test func invalidPartForeverIsRejectedAfterThreeTries() {
        var (m, _, _) = Self.readyToComplete()
        for _ in 1...Machine.maxRestarts {
            guard case .listParts = m.completeRefused(.invalidPart(code: "InvalidPart")) else { Issue.record("no ListParts"); return }
            _ = m.partsListed(held: [1: Self.part(1), 2: Self.part(2), 3: Self.part(3)])
            guard case .complete = m.partsSettled(interrupted: false) else { Issue.record("no complete"); return }
        }
        guard case .fail(let error, _) = m.completeRefused(.invalidPart(code: "InvalidPart")) else { Issue.record("no failure"); return }
        #expect(error.code == .rejected)
    }

    /// `NoSuchUpload` at Complete after a lost answer: the client retried Complete, the first
    /// attempt had completed it. The object is ours when its ETag is the one our parts give.
    @Test func aLostCompleteAnswerThenNoSuchUploadAdoptsTheObjectThatIsProvablyOurs() {
        var (m, parts, expected) = Self.readyToComplete()
        guard case .checkStoredObject(let e) = m.completeRefused(.uploadUnknown) else { Issue.record("no HEAD"); return }
        #expect(e == expected)
        guard case .adoptStoredObject(let etag, let adopted) = m.storedObject(size: 25, etag: expected?.uppercased()) else {
            Issue.record("not adopted")
            return
        }
        #expect(etag == expected?.uppercased() && adopted == parts)
    }

    /// Parts sent with a signed SHA-256 only (no MD5 of our own): where the server's part ETags
    /// are MD5s, the object they give is recognised; where they are not (SSE-KMS), never.
    @Test(arguments: [true, false])
    func aLostCompleteAnswerWithoutOurMD5sIsAdoptedByThePartETagsOnlyWhereTheyAreMD5s(partETagsAreMD5s: Bool) {
        var m = Machine(path: "big.tar", plan: Self.plan, partETagsAreMD5s: partETagsAreMD5s)
        _ = m.start(recordedUploadID: nil)
        _ = m.uploadCreated("u1", plan: Self.plan)
        var etags: [String] = []
        while let n = m.nextPart() {
            var p = Self.part(n)
            p.md5 = nil
            etags.append(p.etag)
            m.partStored(p)
        }
        guard case .complete(_, _, let expected) = m.partsSettled(interrupted: false) else { Issue.record("no complete"); return }
        #expect(expected == nil)
        _ = m.completeRefused(.uploadUnknown)
        let objectETag = Digest.md5(etags.flatMap { Hex.decode($0) ?? [] }).hexString + "-3"
        switch m.storedObject(size: 25, etag: objectETag) {
        case .adoptStoredObject(let etag, _): #expect(partETagsAreMD5s && etag == objectETag)
        case .startOver: #expect(!partETagsAreMD5s)
        default: Issue.record("neither adopted nor started over")
        }
        // Another object's ETag is never adopted.
        var other = Machine(path: "big.tar", plan: Self.plan, partETagsAreMD5s: true)
        _ = other.start(recordedUploadID: nil)
        _ = other.uploadCreated("u1", plan: Self.plan)
        while let n = other.nextPart() { other.partStored(Self.part(n, md5: nil)) }
        _ = other.partsSettled(interrupted: false)
        _ = other.completeRefused(.uploadUnknown)
        guard case .startOver = other.storedObject(size: 25, etag: "0123456789abcdef0123456789abcdef-3") else { Issue.record("adopted another object"); return }
    }

    /// The same answer, but the object under the key is not ours (another size or ETag, or none):
    /// the file starts over with a new upload.
    @Test func noSuchUploadAtCompleteWithAnObjectNotOursStartsOver() {
        for (size, etag): (Int64?, String?) in [(25, "0123456789abcdef0123456789abcdef-3"), (24, nil), (nil, nil)] {
            var (m, _, expected) = Self.readyToComplete()
            _ = m.completeRefused(.uploadUnknown)
            guard case .startOver(let reason) = m.storedObject(size: size, etag: etag ?? expected) else { Issue.record("adopted \(size as Any)"); return }
            #expect(reason == "NoSuchUpload on complete")
            guard case .sendParts("u2") = m.uploadCreated("u2", plan: Self.plan) else { Issue.record("no sending"); return }
            #expect(m.partsOutstanding == 3)
        }
    }

    /// SSE-KMS: the stored ETag is no MD5 of the content, so a lost Complete answer cannot be
    /// proven ours: sent again rather than trusted. The check after Complete does not compare it.
    @Test func sseKMSETagsAreNeverComparedNorTrusted() {
        var (m, _, expected) = Self.readyToComplete()
        _ = m.completeRefused(.uploadUnknown)
        guard case .startOver = m.storedObject(size: 25, etag: "c0ffee00c0ffee00c0ffee00c0ffee00-3") else { Issue.record("a KMS ETag was trusted"); return }
        let kms = ObjectInfo(size: 25, etag: "c0ffee00c0ffee00c0ffee00c0ffee00-3", lastModified: "", headers: [("x-amz-server-side-encryption", "aws:kms")])
        #expect(UploadEngine.etagMismatch(head: kms, reportedETag: "", expectedETag: expected, etagIsMD5: true, configuredSSE: nil) == nil)
        #expect(UploadEngine.etagMismatch(head: kms, reportedETag: "", expectedETag: expected, etagIsMD5: true, configuredSSE: "aws:kms") == nil)
        // Without KMS the same ETag is a mismatch.
        let plain = ObjectInfo(size: 25, etag: "c0ffee00c0ffee00c0ffee00c0ffee00-3", lastModified: "", headers: [])
        #expect(UploadEngine.etagMismatch(head: plain, reportedETag: "", expectedETag: expected, etagIsMD5: true, configuredSSE: nil) != nil)
        #expect(UploadEngine.etagMismatch(head: plain, reportedETag: "", expectedETag: expected, etagIsMD5: false, configuredSSE: nil) == nil)
    }

    /// Ceph RGW answers Complete for an upload it no longer knows with `500 InternalError`:
    /// ListParts decides; if the upload is still there, the 500 is the failure.
    @Test func internalErrorAtCompleteAsksWhetherTheUploadIsGone() {
        var (m, parts, expected) = Self.readyToComplete()
        let refusal = AgentError(.retriesExhausted, "500", hint: "")
        guard case .askWhetherUploadIsGone("u1") = m.completeRefused(.internalError(refusal)) else { Issue.record("no ListParts"); return }
        guard case .checkStoredObject = m.uploadIsGone(true) else { Issue.record("no HEAD"); return }
        guard case .adoptStoredObject(_, let adopted) = m.storedObject(size: 25, etag: expected) else { Issue.record("not adopted"); return }
        #expect(adopted == parts)

        var (m2, _, _) = Self.readyToComplete()
        _ = m2.completeRefused(.internalError(refusal))
        guard case .fail(let error, _) = m2.uploadIsGone(false) else { Issue.record("no failure"); return }
        #expect(error.message == "500")
    }

    /// The server forgot the upload while parts were in flight: they drain, then the file starts
    /// over; a server that keeps forgetting fails the file after three start-overs.
    @Test func noSuchUploadOnAPartStartsTheFileOverThenGivesUp() {
        var m = Machine(path: "big.tar", plan: Self.plan)
        _ = m.start(recordedUploadID: nil)
        for attempt in 1...(Machine.maxRestarts + 1) {
            _ = m.uploadCreated("u\(attempt)", plan: Self.plan)
            let a = m.nextPart() ?? 0
            let b = m.nextPart() ?? 0
            m.partRefused(a, .uploadUnknown, sentWithMD5: false)
            #expect(m.nextPart() == nil)
            m.partStored(Self.part(b))
            let next = m.partsSettled(interrupted: false)
            if attempt <= Machine.maxRestarts {
                guard case .startOver(let reason) = next else { Issue.record("no start-over"); return }
                #expect(reason == "NoSuchUpload on part \(a)")
            } else {
                guard case .fail(let error, _) = next else { Issue.record("no failure"); return }
                #expect(error.code == .retriesExhausted)
            }
        }
    }

    /// Resume: ListParts answers NoSuchUpload (RGW: NoSuchKey): the file starts over.
    @Test func aResumedUploadTheServerForgotStartsOver() {
        var m = Machine(path: "big.tar", plan: Self.plan)
        guard case .listParts("u0", nil) = m.start(recordedUploadID: "u0") else { Issue.record("no ListParts"); return }
        guard case .startOver(let reason) = m.listingFoundNoUpload("NoSuchKey") else { Issue.record("no start-over"); return }
        #expect(reason == "NoSuchKey on ListParts")
    }

    /// The Object Lock Content-MD5 demand: the refused part is sent again first, with MD5, and
    /// every later part carries it; a part refused although it carried MD5 is a failure.
    @Test func theContentMD5DemandSendsThePartAgainWithIt() {
        var m = Machine(path: "big.tar", plan: Self.plan)
        _ = m.start(recordedUploadID: nil)
        _ = m.uploadCreated("u1", plan: Self.plan)
        #expect(m.nextPart() == 1)
        let demand = AgentError(.rejected, "InvalidRequest: Content-MD5 required", hint: "")
        m.partRefused(1, .contentMD5Demanded(refusal: demand), sentWithMD5: false)
        #expect(m.contentMD5Demanded)
        #expect(!m.isStopping)
        #expect(m.nextPart() == 1)
        m.partRefused(1, .contentMD5Demanded(refusal: demand), sentWithMD5: true)
        #expect(m.isStopping)
        guard case .fail(let error, _) = m.partsSettled(interrupted: false) else { Issue.record("no failure"); return }
        #expect(error.message == demand.message)
    }

    // MARK: resume adopts only parts provably ours

    /// A part the server holds with another ETag than the journal recorded (replaced on the
    /// server, say) is sent again; one with the recorded ETag and size is adopted. Removing the
    /// ETag comparison makes this test fail.
    @Test func aListedPartWhoseETagDiffersFromTheJournalIsSentAgain() throws {
        let recorded = [Self.part(1, md5: "etag-one"), Self.part(2, md5: "etag-two")]
        let server = [
            UploadedPart(number: 1, etag: "etag-one", size: 10),
            UploadedPart(number: 2, etag: "etag-replaced", size: 10),
            UploadedPart(number: 3, etag: "etag-unknown", size: 5),
        ]
        var rehashed: [Int] = []
        let held = try Machine.adoptable(server: server, recorded: recorded, plan: Self.plan, etagIsMD5: false) { n throws(AgentError) in
            rehashed.append(n)
            return Self.part(n)
        }
        #expect(held.keys.sorted() == [1])
        #expect(rehashed.isEmpty)  // no MD5 ETags: nothing can prove parts 2 and 3 are ours
        var m = Machine(path: "big.tar", plan: Self.plan)
        _ = m.start(recordedUploadID: "u1")
        _ = m.partsListed(held: held)
        #expect(m.nextPart() == 2)
        #expect(m.nextPart() == 3)
    }

    /// Where ETags are MD5s, a part the journal did not record (killed before the journal write)
    /// is adopted only when its ETag is the MD5 of our bytes; a wrong size is never adopted.
    @Test func anUnrecordedPartIsAdoptedOnlyWhenItsMD5IsOurs() throws {
        let ours = Self.part(2)
        let server = [
            UploadedPart(number: 1, etag: String(repeating: "0", count: 32), size: 10),
            UploadedPart(number: 2, etag: ours.md5!.uppercased(), size: 10),
            UploadedPart(number: 3, etag: Self.part(3).md5!, size: 4),
            UploadedPart(number: 4, etag: Self.part(1).md5!, size: 10),
        ]
        let held = try Machine.adoptable(server: server, recorded: [], plan: Self.plan, etagIsMD5: true) { n throws(AgentError) in Self.part(n) }
        #expect(held.keys.sorted() == [2])
        #expect(held[2]?.md5 == ours.md5)
    }

    @Test func aRecordedPartWithAnotherSizeIsNotAdopted() throws {
        let server = [UploadedPart(number: 1, etag: "etag-one", size: 9)]
        let held = try Machine.adoptable(server: server, recorded: [Self.part(1, md5: "etag-one")], plan: Self.plan, etagIsMD5: false) {
            n throws(AgentError) in Self.part(n)
        }
        #expect(held.isEmpty)
    }
}

/// What an upload does with the journal entry it finds (the vault retargeted between attempts,
/// a resume, a completed upload, a damaged or newer journal).
@Suite struct UploadStartTests {
    static func entry(bucket: String = "b", state: JournalEntry.State = .interrupted) -> JournalEntry {
        var a = JournalEntry.File(path: "a.tar", sourcePath: "/srv/a.tar", key: "h/b1/a.tar", identity: FileIdentity(size: 1, mtimeNanos: 1, inode: 1))
        a.uploadID = "up-a"
        var done = JournalEntry.File(path: "done.tar", sourcePath: "/srv/done.tar", key: "h/b1/done.tar", identity: FileIdentity(size: 1, mtimeNanos: 1, inode: 2))
        done.uploadID = "up-done"
        done.state = .done
        var e = JournalEntry(
            id: "x", backup: "b1", backupDirectory: "/srv", singleFile: false, vault: "main", bucket: bucket, endpoint: "http://e", prefix: "h/",
            files: [a, done], now: 0)
        e.state = state
        return e
    }

    static func decide(_ load: Journal.LoadResult, force: Bool = false) -> UploadStart {
        UploadStart.decide(load, force: force, singleFile: false, pointsHere: { $0.bucket == "b" }, unchanged: { _ in true })
    }

    @Test func theVaultRetargetedBetweenAttemptsAbortsTheOldUploadsAndStartsAfresh() {
        guard case .retargeted(let check, let abort) = Self.decide(.entry(Self.entry(bucket: "old-bucket"))) else {
            Issue.record("an upload recorded against another bucket was resumed")
            return
        }
        #expect(check)  // the manifest where the vault points now decides first
        #expect(abort.map(\.uploadID) == ["up-a"])  // a finished file's upload is not aborted
        guard case .retargeted(false, _) = Self.decide(.entry(Self.entry(bucket: "old-bucket")), force: true) else { Issue.record("force"); return }
    }

    @Test func anInterruptedUploadHereIsResumed() {
        guard case .resume(let e) = Self.decide(.entry(Self.entry())) else { Issue.record("not resumed"); return }
        #expect(e.id == "x")
    }

    @Test func aCompletedUploadIsReplacedUnlessTheManifestShowsItOffsite() {
        guard case .replaceCompleted(_, true) = Self.decide(.entry(Self.entry(state: .completed))) else { Issue.record("completed"); return }
        guard case .replaceCompleted(_, false) = Self.decide(.entry(Self.entry(state: .completed)), force: true) else { Issue.record("force"); return }
    }

    @Test func damagedAndNewerJournalsAndNone() {
        guard case .fresh(false, let warning?) = Self.decide(.corrupt(path: "/s/x.json", movedTo: "/s/x.json.damaged")) else { Issue.record("corrupt"); return }
        #expect(warning.contains("/s/x.json.damaged"))
        guard case .refuse(let error) = Self.decide(.newer(path: "/s/x.json", version: 99)) else { Issue.record("newer"); return }
        #expect(error.code == .journalTooNew)
        guard case .fresh(true, nil) = Self.decide(.missing) else { Issue.record("missing"); return }
    }
}
