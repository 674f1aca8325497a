import Age
import AgentSupport
import Glibc
import HTTPTransport
import S3
import Testing
import Vault

@testable import Restore

/// The restore of one file, scripted: each test plays what the engine saw (a range written or
/// refused, a header opened, a digest's verdict) to the state machine and checks the action it
/// asks for next. No network, no disk: every recovery path.
@Suite struct RestoreFileStateMachineTests {
    typealias Machine = RestoreFileStateMachine

    /// Plays the engine's hashing loop for a plain file: hashes what is next in order
    /// (`lostOnDisk`: ranges an earlier run wrote that the `.partial` no longer holds) and
    /// returns the action once nothing more can be hashed.
    static func hashAll(_ m: inout Machine, lostOnDisk: Set<Int> = []) -> Machine.Action {
        while true {
            switch m.nextToHash() {
            case .wait: return .none
            case .complete: return m.allHashed()
            case .hash(let r, let checkOnDisk):
                if checkOnDisk, lostOnDisk.contains(r) { return m.lostOnDisk(from: r) }
                m.hashed(r)
            }
        }
    }

    /// An encrypted file whose header opened with range 0, every range in flight.
    static func encryptedInFlight(ranges: Int) -> Machine {
        var m = Machine(rangeCount: ranges, encrypted: true)
        _ = m.start()
        m.rangeLaunched(0)
        m.headerOpened()
        for r in 1..<ranges { m.rangeLaunched(r) }
        return m
    }

    /// Sends `ranges` and plays their answers in order; returns the last action.
    @discardableResult
    static func fetch(_ m: inout Machine, _ ranges: [Int], etag: String? = "\"e1\"") -> Machine.Action {
        for r in ranges {
            #expect(m.mayLaunch(r))
            m.rangeLaunched(r)
        }
        var last = Machine.Action.none
        for r in ranges {
            last = m.rangeArrived(r, etag: etag)
            if case .hashNext = last { last = hashAll(&m) }
        }
        return last
    }

    @Test func aCleanFetchHashesInOrderVerifiesAndInstalls() {
        var m = Machine(rangeCount: 3, encrypted: false)
        let queued = m.start()
        #expect(queued == [0, 1, 2])
        for r in 0..<3 { m.rangeLaunched(r) }
        // Range 1 first: nothing can be hashed before range 0.
        guard case .hashNext = m.rangeArrived(1, etag: "\"e1\"") else { Issue.record("no hashing"); return }
        #expect(m.nextToHash() == .wait)
        _ = m.rangeArrived(0, etag: "\"e1\"")
        #expect(m.nextToHash() == .hash(range: 0, checkOnDisk: false))
        // Every range hashed while range 2 is in flight: it writes through the descriptor, so no verify yet.
        guard case .none = Self.hashAll(&m) else { Issue.record("verified early"); return }
        guard case .hashNext = m.rangeArrived(2, etag: "\"e1\"") else { Issue.record("no hashing"); return }
        guard case .verify = Self.hashAll(&m) else { Issue.record("no verify"); return }
        #expect(m.journalRanges == [0, 1, 2])
        guard case .install = m.digestChecked(.matches) else { Issue.record("no install"); return }
        m.installed()
        guard case .finished = m.state else { Issue.record("not finished: \(m.state)"); return }
        #expect(m.isSettled && m.journalRanges.isEmpty && m.progress == nil)
    }

    @Test func anEmptyFileIsVerifiedAtOnce() {
        var m = Machine(rangeCount: 0, encrypted: false)
        let queued = m.start()
        #expect(queued.isEmpty)
        guard case .verify = Self.hashAll(&m) else { Issue.record("no verify"); return }
    }

    /// A range damaged in transit: the ranges of the segments that differ are fetched once more
    /// (hashing starts over), and the file is rejected when they differ again.
    @Test func aDamagedRangeIsFetchedOnceMoreThenRejected() {
        var m = Machine(rangeCount: 3, encrypted: false)
        _ = m.start()
        guard case .verify = Self.fetch(&m, [0, 1, 2]) else { Issue.record("no verify"); return }
        guard case .refetch(let ranges, let why, let restart) = m.digestChecked(.differs(ranges: [1], what: "its SHA-256")) else {
            Issue.record("not fetched again")
            return
        }
        #expect(ranges == [1] && why == .digestDiffers(what: "its SHA-256") && restart)
        #expect(m.journalRanges == [0, 2])
        #expect(m.nextToHash() == .hash(range: 0, checkOnDisk: false))
        guard case .verify = Self.fetch(&m, [1]) else { Issue.record("no second verify"); return }
        guard case .reject(let rejection, let discardNow) = m.digestChecked(.differs(ranges: [1], what: "its SHA-256")) else {
            Issue.record("not rejected")
            return
        }
        #expect(rejection == .digestDiffers(what: "its SHA-256", replaced: nil))
        #expect(discardNow)
        guard case .discarded = m.state else { Issue.record("not discarded: \(m.state)"); return }
        // Never recorded nor put in place.
        #expect(m.journalRanges.isEmpty && !m.mayLaunch(0))
    }

    /// The object replaced in the vault while it was restored: its ETag changes between ranges.
    /// As before the machine existed, the digest decides (the same bytes stored again under
    /// another ETag still restore); when it differs, the rejection names both ETags.
    @Test func anObjectReplacedMidRestoreIsRejectedNamingItsETags() {
        var m = Machine(rangeCount: 2, encrypted: false)
        _ = m.start()
        Self.fetch(&m, [0], etag: "\"old\"")
        guard case .verify = Self.fetch(&m, [1], etag: "\"new\"") else { Issue.record("no verify"); return }
        _ = m.digestChecked(.differs(ranges: [1], what: "its SHA-256"))
        Self.fetch(&m, [1], etag: "\"new\"")
        guard case .reject(.digestDiffers(_, let replaced), _) = m.digestChecked(.differs(ranges: [1], what: "its SHA-256")) else {
            Issue.record("not rejected")
            return
        }
        #expect(replaced?.from == "\"old\"" && replaced?.to == "\"new\"")

        var same = Machine(rangeCount: 2, encrypted: false)
        _ = same.start()
        Self.fetch(&same, [0], etag: "\"old\"")
        Self.fetch(&same, [1], etag: "\"new\"")
        guard case .install = same.digestChecked(.matches) else { Issue.record("the same bytes under another ETag were refused"); return }
    }

    /// An encrypted file: its later ranges wait for the header in range 0. No identity opens it:
    /// the restore stops (IDENTITY_MISMATCH), nothing of the file is fetched or installed.
    @Test func anEncryptedFileWhoseHeaderNoIdentityOpensStopsTheRestore() {
        var m = Machine(rangeCount: 3, encrypted: true)
        let queued = m.start()
        #expect(queued == [0, 1, 2])
        #expect(m.mayLaunch(0) && !m.mayLaunch(1) && !m.mayLaunch(2))
        m.rangeLaunched(0)
        guard case .stopRestore(.identityMismatch) = m.rangeFailedDecryption(0, .noMatch) else { Issue.record("did not stop"); return }
        guard case .stopped = m.state else { Issue.record("not stopped: \(m.state)"); return }
        #expect(!m.mayLaunch(0) && !m.journalKeepsHeader)
        #expect(RestoreDecryption.mismatch(OffsiteManifest(backup: "b", host: "h", files: []), path: "db.age", vault: "v").code == .identityMismatch)
    }

    @Test func anEncryptedFileFetchesItsOtherRangesOnceTheHeaderOpens() {
        var m = Machine(rangeCount: 3, encrypted: true)
        _ = m.start()
        m.rangeLaunched(0)
        m.headerOpened()
        #expect(m.mayLaunch(1) && m.mayLaunch(2))
        guard case .hashNext = m.rangeArrived(0, etag: nil) else { Issue.record("no hashing"); return }
        #expect(m.written(0) == .thisRun && m.written(1) == .no)
        #expect(m.journalKeepsHeader)
    }

    /// An encrypted file's bytes are hashed as they authenticate, so its digest can be complete
    /// while its last GET is still writing: verified (and renamed) only once that GET is back.
    @Test func anEncryptedFileIsVerifiedOnlyOnceItsLastGETIsBack() {
        var m = Self.encryptedInFlight(ranges: 2)
        _ = m.rangeArrived(0, etag: nil)
        guard case .none = m.allHashed() else { Issue.record("verified with a GET in flight"); return }
        _ = m.rangeArrived(1, etag: nil)
        guard case .verify = m.allHashed() else { Issue.record("no verify"); return }
    }

    /// A range that fails authentication (a damaged header or chunk) is fetched once more; the
    /// second failure rejects the file. Its ranges still in flight are awaited before the
    /// `.partial` goes, and their failures no longer stop the restore.
    @Test func aRangeFailingDecryptionTwiceRejectsTheFileAfterItsGETsDrain() {
        var m = Self.encryptedInFlight(ranges: 3)
        guard case .refetch([1], .decryptionFailed(1, .payload("chunk 4 failed authentication")), false) =
            m.rangeFailedDecryption(1, .payload("chunk 4 failed authentication"))
        else { Issue.record("not fetched again"); return }
        m.rangeLaunched(1)
        guard case .reject(.decryptionFailed(1, _), let discardNow) = m.rangeFailedDecryption(1, .payload("chunk 4 failed authentication")) else {
            Issue.record("not rejected")
            return
        }
        #expect(!discardNow)  // ranges 0 and 2 are still in flight
        guard case .none = m.rangeFailed(2, .missing) else { Issue.record("a rejected file's GET stopped the restore"); return }
        guard case .discard = m.rangeArrived(0, etag: nil) else { Issue.record("not discarded after its last GET"); return }
        #expect(m.isGivenUp && m.journalRanges.isEmpty)
    }

    /// The disk fills while a range is written: the restore stops with the disk's errno (NO_SPACE),
    /// the ranges already written stay recorded, and the file is never verified nor installed.
    @Test func aFullDiskStopsTheRestoreAndTheFileIsNeverInstalled() {
        var m = Machine(rangeCount: 3, encrypted: false)
        _ = m.start()
        for r in 0..<3 { m.rangeLaunched(r) }
        _ = m.rangeArrived(0, etag: nil)
        _ = Self.hashAll(&m)
        guard case .stopRestore(.diskWrite(let code)) = m.rangeFailed(1, .diskWrite(errno: ENOSPC)) else { Issue.record("did not stop"); return }
        #expect(code == ENOSPC)
        guard case .none = m.rangeArrived(2, etag: nil) else { Issue.record("hashing after the restore stopped"); return }
        guard case .none = m.allHashed() else { Issue.record("verified after the restore stopped"); return }
        #expect(m.nextToHash() == .wait && !m.mayLaunch(1))
        #expect(m.journalRanges == [0, 2])
    }

    /// The one NO_SPACE mapping: the restore's files and journal and a range libcurl could not write.
    @Test func aFullDiskIsNoSpaceNamingTheTargetTheBytesNeededAndFree() {
        let target = StorageErrors.WriteTarget(directory: "/srv/restore", bytesNeeded: 3 << 20, bytesFree: 1 << 20)
        for code in [ENOSPC, EDQUOT] {
            let e = StorageErrors.writeFailure("cannot write /srv/restore/.offsite-restore/0.partial", errno: code, target: target)
            #expect(e.code == .noSpace && e.exitStatus == .failed)
            #expect(e.message.contains("/srv/restore") && e.message.contains("3145728 bytes") && e.message.contains("1048576 bytes"))
        }
        #expect(StorageErrors.writeFailure("cannot write x", errno: EACCES, target: target).code == .restoreWriteFailed)
        let written = TransportError(kind: .fileRead, curlCode: 23, message: "Failure writing output", writeErrno: ENOSPC)
        let mapped = StorageErrors.agentError(S3Error(failure: .transport(written), attempts: []), vault: "v", bucket: "b", action: "s3:GetObject")
        #expect(mapped.code == .noSpace)
        #expect(StorageErrors.noSpace(target).message.contains("still to write"))
    }

    /// SIGINT/SIGTERM: nothing more is fetched or installed; what was written stays recorded.
    @Test func cancellationKeepsTheProgressAndInstallsNothing() {
        var m = Machine(rangeCount: 2, encrypted: false)
        _ = m.start()
        m.rangeLaunched(0)
        m.rangeLaunched(1)
        _ = m.rangeArrived(0, etag: nil)
        m.cancelled()
        #expect(!m.mayLaunch(1))
        guard case .none = m.rangeArrived(1, etag: nil) else { Issue.record("hashing after cancellation"); return }
        guard case .none = m.allHashed() else { Issue.record("verified after cancellation"); return }
        #expect(m.journalRanges == [0, 1] && !m.isSettled)
    }

    /// Continued from the journal: only the ranges not recorded are fetched; a recorded range the
    /// `.partial` no longer holds is fetched again, with every later one the earlier run wrote.
    @Test func aResumeFetchesTheMissingRangesAndRefetchesThoseLostOnDisk() {
        var m = Machine(rangeCount: 5, encrypted: false, recorded: [0, 2, 3, -1, 9])
        #expect(m.journalRanges == [0, 2, 3])
        let queued = m.start()
        #expect(queued == [1, 4])
        #expect(m.nextToHash() == .hash(range: 0, checkOnDisk: true))
        _ = Self.hashAll(&m)
        m.rangeLaunched(1)
        _ = m.rangeArrived(1, etag: nil)
        guard case .refetch(let ranges, .lostOnDisk(let count), false) = Self.hashAll(&m, lostOnDisk: [2]) else { Issue.record("not fetched again"); return }
        #expect(ranges == [2, 3] && count == 2)
        #expect(m.journalRanges == [0, 1])
        guard case .verify = Self.fetch(&m, [2, 3, 4]) else { Issue.record("no verify"); return }
    }

    /// Issue 19: every file of a backup holds a machine for the whole restore, so it stays small
    /// (the ETags are behind one reference, counters are narrow). Prints the figure it checks.
    @Test func aMachineStaysSmall() {
        let size = MemoryLayout<Machine>.size
        print("RestoreFileStateMachine: \(size) bytes inline")
        #expect(size <= 96)
    }

    /// An encrypted file continued from the journal keeps its ranges only when the journal's
    /// copy of its header opens; otherwise it is fetched whole, header first.
    @Test func anEncryptedResumeKeepsItsRangesOnlyWhenTheRecordedHeaderOpens() {
        var opened = Machine(rangeCount: 4, encrypted: true, recorded: [0, 1])
        let dropped = opened.recordedHeader(opens: true)
        let queued = opened.start()
        #expect(!dropped && queued == [2, 3] && opened.mayLaunch(3) && opened.journalKeepsHeader)

        var refused = Machine(rangeCount: 4, encrypted: true, recorded: [0, 1])
        let droppedAll = refused.recordedHeader(opens: false)
        let queuedAll = refused.start()
        #expect(droppedAll && queuedAll == [0, 1, 2, 3] && !refused.mayLaunch(1) && !refused.journalKeepsHeader)
    }
}
