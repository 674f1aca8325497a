import AgentSupport
import Backups
import Testing

@testable import Upload

#if canImport(Glibc)
    import Glibc
#endif

private func tempDir() -> String {
    var template = Array("/tmp/journal-test-XXXXXX".utf8CString)
    let p = mkdtemp(&template)!
    return String(cString: p)
}

private func sampleEntry(id: String) -> JournalEntry {
    var file = JournalEntry.File(path: "a/b.tar", sourcePath: "/x/a/b.tar", key: "host/b1/a/b.tar", identity: FileIdentity(size: 100, mtimeNanos: 5, inode: 9))
    file.uploadID = "upload-1"
    file.partSize = 50
    file.parts = [JournalEntry.Part(number: 1, etag: "e1", size: 50, sha256: "s1", md5: nil)]
    return JournalEntry(id: id, backup: "b1", backupDirectory: "/x", singleFile: false, vault: "v", bucket: "bk", endpoint: "http://e", prefix: "host/", files: [file], now: 1)
}

@Test func journalRoundTripsThroughDisk() throws {
    let journal = Journal(stateDir: tempDir())
    try journal.prepare()
    try journal.save(sampleEntry(id: "abc"))
    guard case .entry(let loaded) = journal.load("abc") else {
        Issue.record("entry did not load")
        return
    }
    #expect(loaded.files[0].parts == [JournalEntry.Part(number: 1, etag: "e1", size: 50, sha256: "s1", md5: nil)])
    #expect(loaded.files[0].uploadID == "upload-1")
    #expect(loaded.bytesDone == 50)
    var st = stat()
    stat(journal.path(of: "abc"), &st)
    #expect(st.st_mode & 0o777 == 0o600)
}

@Test func truncatedJournalIsSetAsideNotFatal() throws {
    let journal = Journal(stateDir: tempDir())
    try journal.prepare()
    try journal.save(sampleEntry(id: "good"))
    let text = AtomicFile.read(journal.path(of: "good"))!
    try AtomicFile.write(String(text.prefix(text.count / 2)), to: journal.path(of: "bad"))
    let all = journal.all()
    #expect(all.entries.map(\.id) == ["good"])
    #expect(all.corrupt.count == 1)
    #expect(all.corrupt[0].movedTo.contains("bad.json.corrupt-"))
    #expect(access(journal.path(of: "bad"), F_OK) != 0)
}

@Test func secondLockOnAnEntryIsRefused() throws {
    let journal = Journal(stateDir: tempDir())
    try journal.prepare()
    let first = journal.lock("x")
    #expect(first != nil)
    #expect(journal.lock("x") == nil)
    _ = first
}

@Test func entryIDIsStablePerBackupAndVault() {
    // Known values (sha256 of "v\0b" and "v\0b\0x.tar", first 16 hex digits, from sha256sum): an
    // agent upgraded between a kill and `resume` must find the entry an older one wrote.
    #expect(Journal.entryID(backup: "b", vault: "v") == "c5c6665794dd2f8e")
    #expect(Journal.entryID(backup: "b", vault: "v", singleFilePath: "x.tar") == "075f7a76abe7a316")
    #expect(Journal.entryID(backup: "b", vault: "v") != Journal.entryID(backup: "b", vault: "w"))
    #expect(Journal.entryID(backup: "b", vault: "v") != Journal.entryID(backup: "c", vault: "v"))
    // The separator keeps ("ab", "c") and ("a", "bc") apart.
    #expect(Journal.entryID(backup: "c", vault: "ab") != Journal.entryID(backup: "bc", vault: "a"))
}

@Test func journalWithImpossibleValuesIsSetAside() throws {
    let journal = Journal(stateDir: tempDir())
    try journal.prepare()
    try journal.save(sampleEntry(id: "zero"))
    let text = AtomicFile.read(journal.path(of: "zero"))!
    try AtomicFile.write(text.replacingAll("\"part_size\": 50", with: "\"part_size\": 0"), to: journal.path(of: "zero"))
    guard case .corrupt = journal.load("zero") else {
        Issue.record("a zero part size must not load")
        return
    }
}

/// The limits an upload was started with travel in its journal entry (resume applies them).
@Test func journalEntryKeepsTheRunLimits() {
    var entry = sampleEntry(id: "limits")
    entry.bandwidthLimit = 10 << 20
    entry.concurrency = 2
    let back = JournalEntry(json: entry.json())
    #expect(back?.bandwidthLimit == 10 << 20)
    #expect(back?.concurrency == 2)
    // Values no agent writes are ignored, never trusted.
    guard case .object(let fields) = entry.json() else {
        Issue.record("an entry is a JSON object")
        return
    }
    let damaged = JSON.object(fields.map { $0.0 == "concurrency" ? ("concurrency", .int(0)) : $0 })
    #expect(JournalEntry(json: damaged)?.concurrency == nil)
}

/// `created`/`updated` from disk feed `now - updated` (prune, doctor) and the calendar conversion:
/// a value no agent writes makes the file damaged (set aside), never a trap.
@Test func journalWithImpossibleTimesIsSetAside() throws {
    guard case .object(let fields) = sampleEntry(id: "t").json() else {
        Issue.record("an entry is a JSON object")
        return
    }
    func with(_ key: String, _ value: Int64) -> JSON { .object(fields.map { $0.0 == key ? (key, .int(value)) : $0 }) }
    for key in ["created", "updated"] {
        for bad in [Int64.min, -1, JournalEntry.latestTime + 1, Int64.max] { #expect(JournalEntry(json: with(key, bad)) == nil, "\(key) = \(bad)") }
        #expect(JournalEntry(json: with(key, JournalEntry.latestTime)) != nil)
        #expect(JournalEntry(json: with(key, 0)) != nil)
    }

    let journal = Journal(stateDir: tempDir())
    try journal.prepare()
    var finished = sampleEntry(id: "old")
    finished.state = .completed
    try journal.save(finished)
    let text = AtomicFile.read(journal.path(of: "old"))!
    try AtomicFile.write(text.replacingAll("\"updated\": 1", with: "\"updated\": -9223372036854775807"), to: journal.path(of: "old"))
    journal.prune(olderThan: 30 * 86400, now: Timestamp.now())
    #expect(access(journal.path(of: "old"), F_OK) != 0)
    #expect(journal.all().entries.isEmpty)
}
