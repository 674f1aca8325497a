import AgentSupport
import Backups
import Foundation
import Testing
import Upload

@testable import Operations

/// Doctor decides who holds an upload lock from /proc/locks alone: it never takes the lock, not even
/// a shared one for an instant, which would make a starting upload's non-blocking lock fail (LOCKED).
@Suite struct DoctorLockTests {
    @Test func anUploadLockIsSeenInProcLocksWithoutTakingIt() throws {
        let (base, dir) = try DoctorTests.doctor(root: "/nonexistent")
        let journal = Journal(stateDir: base.config.stateDir)
        try journal.prepare()
        let file = JournalEntry.File(path: "a.tar", sourcePath: dir.path + "/a.tar", key: "h/b1/a.tar", identity: FileIdentity(size: 10, mtimeNanos: 1, inode: 1))
        let entry = JournalEntry(
            id: "0123456789abcdef", backup: "b1", backupDirectory: dir.path, singleFile: false, vault: "primary", bucket: "b", endpoint: "http://127.0.0.1:9",
            prefix: "h/", files: [file], now: 1)
        try journal.save(entry)
        let lockPath = journal.directory + "/0123456789abcdef.lock"
        #expect(FileManager.default.createFile(atPath: lockPath, contents: nil))
        let inode = try #require(try FileManager.default.attributesOfItem(atPath: lockPath)[.systemFileNumber] as? NSNumber).uint64Value

        // No real flock is held on the file: only the (prepared) /proc/locks says process 4242 holds it.
        let held = try DoctorTests.makeRoot(["/proc/locks": "1: FLOCK  ADVISORY  WRITE 4242 fd:01:\(inode) 0 EOF\n"])
        var options = base.options
        options.systemRoot = held.path
        let doctor = Doctor(config: base.config, options: options)
        let locks = doctor.locksCheck()
        #expect(locks.status == .warn && locks.code == "LOCK_HELD")
        #expect(locks.explanation.contains("agent process 4242 holds the lock of upload 0123456789abcdef"))
        #expect(doctor.uploadsCheck().status == .pass)  // a held upload is running, not interrupted

        // The same file not listed in /proc/locks: nobody holds it.
        let free = try DoctorTests.makeRoot(["/proc/locks": "1: FLOCK  ADVISORY  WRITE 4242 fd:01:\(inode + 1) 0 EOF\n"])
        options.systemRoot = free.path
        let again = Doctor(config: base.config, options: options)
        #expect(again.locksCheck().status == .pass)
        #expect(again.uploadsCheck().code == "UPLOAD_INTERRUPTED")
    }
}

/// A journal file in a newer format is not "damaged": no command sets it aside, and the fix says so.
@Suite struct DoctorNewerJournalTests {
    @Test func aNewerAgentsJournalFileIsNamedAsSuchNotAsDamaged() throws {
        let (base, _) = try DoctorTests.doctor(root: "/nonexistent")
        let journal = Journal(stateDir: base.config.stateDir)
        try journal.prepare()
        let path = journal.path(of: "00000000000000aa")
        try AtomicFile.write("{\"version\": 99, \"id\": \"00000000000000aa\"}\n", to: path)
        let check = Doctor(config: base.config, options: base.options).uploadsCheck()
        #expect(check.status == .warn && check.code == "JOURNAL_TOO_NEW")
        #expect(check.explanation.contains("written by a newer agent") && check.explanation.contains(path))
        #expect(!check.explanation.contains("damaged") && !check.fix.contains("sets damaged files aside"))
        #expect(check.fix.contains("install that agent again"))
    }
}
