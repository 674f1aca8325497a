import AgentSupport
import Backups
import Testing

@testable import Upload

#if canImport(Glibc)
    import Glibc
#endif

// The append-only journal log (issue 19): records replayed onto their snapshot, a torn last
// line ignored, a stale log ignored, older formats still read.

private func tempJournal() throws -> Journal {
    var template = Array("/tmp/journal-log-test-XXXXXX".utf8CString)
    let journal = Journal(stateDir: String(cString: mkdtemp(&template)!))
    try journal.prepare()
    return journal
}

private func manyFiles(id: String, count: Int) -> JournalEntry {
    let files = (0..<count).map { i in
        JournalEntry.File(path: "d/f\(i)", sourcePath: "/x/d/f\(i)", key: "host/b/d/f\(i)", identity: FileIdentity(size: 1024, mtimeNanos: 1, inode: UInt64(i + 1)))
    }
    return JournalEntry(id: id, backup: "b", backupDirectory: "/x", singleFile: false, vault: "v", bucket: "bk", endpoint: "http://e", prefix: "host/", files: files, now: 1)
}

private func loaded(_ journal: Journal, _ id: String) -> JournalEntry? {
    if case .entry(let e) = journal.load(id) { return e }
    return nil
}

@Test func recordsAppendedToTheLogAreReplayedOnLoad() throws {
    let journal = try tempJournal()
    let entry = manyFiles(id: "many", count: 50)
    let token = try #require(try journal.save(entry, startingLog: true))
    let log = JournalLogWriter(path: journal.logPath(of: "many"), token: token)
    for i in stride(from: 0, to: 50, by: 2) {
        try log.append(.done(path: "d/f\(i)", etag: "etag\(i)", checksum: "sha256:\(i)"), time: 100 + Int64(i))
    }
    try log.append(.multipart(path: "d/f1", uploadID: "up-1", partSize: 512), time: 200)
    try log.append(.part(path: "d/f1", JournalEntry.Part(number: 2, etag: "p2", size: 512, sha256: "s2", md5: nil)), time: 201)
    log.close()
    let back = try #require(loaded(journal, "many"))
    #expect(back.files.filter { $0.state == .done }.count == 25)
    #expect(back.files[48].etag == "etag48" && back.files[48].checksum == "sha256:48")
    #expect(back.files[49].state == .pending)
    #expect(back.files[1].uploadID == "up-1" && back.files[1].partSize == 512 && back.files[1].parts.map(\.number) == [2])
    #expect(back.updated == 201)
    var st = stat()
    #expect(stat(journal.logPath(of: "many"), &st) == 0)
    #expect(st.st_mode & 0o777 == 0o600)
}

@Test func aTornLastLineIsIgnored() throws {
    let journal = try tempJournal()
    let token = try #require(try journal.save(manyFiles(id: "torn", count: 3), startingLog: true))
    let log = JournalLogWriter(path: journal.logPath(of: "torn"), token: token)
    try log.append(.done(path: "d/f0", etag: "e0", checksum: "sha256:0"), time: 5)
    log.close()
    // What a kill in the middle of a write leaves: half a record, no newline.
    let line = JournalRecord.done(path: "d/f1", etag: "e1", checksum: "sha256:1").line(token: token, time: 6)
    let fd = open(journal.logPath(of: "torn"), O_WRONLY | O_APPEND)
    _ = Array(line.utf8.prefix(line.utf8.count / 2)).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    let back = try #require(loaded(journal, "torn"))
    #expect(back.files.map(\.state) == [.done, .pending, .pending])
}

@Test func aLineThatDoesNotCheckEndsTheReplay() throws {
    let journal = try tempJournal()
    let token = try #require(try journal.save(manyFiles(id: "flip", count: 3), startingLog: true))
    let log = JournalLogWriter(path: journal.logPath(of: "flip"), token: token)
    for i in 0..<3 { try log.append(.done(path: "d/f\(i)", etag: "e\(i)", checksum: "sha256:\(i)"), time: 5) }
    log.close()
    // A flipped byte in the second record: it and everything after it are not trusted.
    let text = try #require(AtomicFile.read(journal.logPath(of: "flip")))
    var lines = text.split(separator: "\n").map(String.init)
    lines[1] = lines[1].replacingAll("\"e1\"", with: "\"e7\"")
    try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: journal.logPath(of: "flip"))
    let back = try #require(loaded(journal, "flip"))
    #expect(back.files.map(\.state) == [.done, .pending, .pending])
}

@Test func aLogLeftBesideANewerSnapshotIsIgnored() throws {
    let journal = try tempJournal()
    let old = try #require(try journal.save(manyFiles(id: "stale", count: 2), startingLog: true))
    // The crash between the new snapshot's rename and the old log's removal: the log is still there.
    let line = JournalRecord.done(path: "d/f0", etag: "e0", checksum: "sha256:0").line(token: old, time: 5)
    try journal.save(manyFiles(id: "stale", count: 2), startingLog: true)
    try AtomicFile.write(line, to: journal.logPath(of: "stale"))
    let back = try #require(loaded(journal, "stale"))
    #expect(back.files.map(\.state) == [.pending, .pending])
}

@Test func savingFoldsTheLogIntoTheSnapshotAndRemovesIt() throws {
    let journal = try tempJournal()
    let token = try #require(try journal.save(manyFiles(id: "fold", count: 2), startingLog: true))
    let log = JournalLogWriter(path: journal.logPath(of: "fold"), token: token)
    try log.append(.done(path: "d/f1", etag: "e1", checksum: "sha256:1"), time: 5)
    log.close()
    #expect(AtomicFile.read(journal.path(of: "fold"))?.contains("\"version\": 3") == true)
    var entry = try #require(loaded(journal, "fold"))
    entry.state = .completed
    try journal.save(entry)
    #expect(access(journal.logPath(of: "fold"), F_OK) != 0)
    // Complete on its own again: the oldest format that describes it.
    #expect(AtomicFile.read(journal.path(of: "fold"))?.contains("\"version\": 1") == true)
    let back = try #require(loaded(journal, "fold"))
    #expect(back.files.map(\.state) == [.pending, .done] && back.state == .completed)
}

@Test func olderFormatsStillLoad() throws {
    let journal = try tempJournal()
    // Version 1 as agents before the log wrote it: no `log` field; a stray log beside it is not read.
    let v1 = """
        {"version": 1, "id": "old", "backup": "b", "backup_directory": "/x", "single_file": false, "vault": "v", "bucket": "bk",
         "endpoint": "http://e", "prefix": "host/", "state": "interrupted", "created": 1, "updated": 2, "last_error": null,
         "files": [{"path": "a.tar", "source": "/x/a.tar", "key": "host/b/a.tar", "size": 10, "mtime_ns": 1, "inode": 2, "state": "done",
                    "upload_id": null, "part_size": null, "parts": [], "etag": "abc", "checksum": "sha256:00", "encryption": null},
                   {"path": "b.tar", "source": "/x/b.tar", "key": "host/b/b.tar", "size": 10, "mtime_ns": 1, "inode": 3, "state": "pending",
                    "upload_id": null, "part_size": null, "parts": [], "etag": null, "checksum": null, "encryption": null}]}
        """
    try AtomicFile.write(v1, to: journal.path(of: "old"))
    try AtomicFile.write(JournalRecord.done(path: "b.tar", etag: "x", checksum: "sha256:1").line(token: "t", time: 3), to: journal.logPath(of: "old"))
    let back = try #require(loaded(journal, "old"))
    #expect(back.files.map(\.state) == [.done, .pending])
    #expect(back.logToken == nil)
    // A format from a newer agent is refused, not misread.
    try AtomicFile.write(v1.replacingAll("\"version\": 1", with: "\"version\": 99"), to: journal.path(of: "newer"))
    guard case .newer = journal.load("newer") else {
        Issue.record("a newer format must not load")
        return
    }
}

@Test func aLargeSnapshotIsWrittenCompactOneFilePerLineAndReadsBack() throws {
    let journal = try tempJournal()
    var entry = manyFiles(id: "large", count: JournalEntry.compactAbove + 1)
    entry.files[7].state = .done
    entry.files[7].etag = "e\"7"
    entry.files[7].checksum = "sha256:7"
    try journal.save(entry, startingLog: true)
    let text = try #require(AtomicFile.read(journal.path(of: "large")))
    // The head line, one line per file, the tail.
    #expect(text.split(separator: "\n").count == 1 + entry.files.count + 1)
    #expect(text.hasPrefix("{\"version\": 3, \"id\": \"large\""))
    let back = try #require(loaded(journal, "large"))
    #expect(back.files.count == entry.files.count)
    #expect(back.files.map(\.path) == entry.files.map(\.path))
    #expect(back.files[7].state == .done && back.files[7].etag == "e\"7" && back.files[7].checksum == "sha256:7")
    #expect(back.prefix == "host/" && back.logToken != nil)
}

@Test func aLogSpanningManyReadBlocksIsReplayedWhole() throws {
    // Read 64 KiB at a time: lines cross block boundaries, every one is applied.
    let journal = try tempJournal()
    let count = 3000
    let token = try #require(try journal.save(manyFiles(id: "long", count: count), startingLog: true))
    let log = JournalLogWriter(path: journal.logPath(of: "long"), token: token)
    for i in 0..<count {
        try log.append(.done(path: "d/f\(i)", etag: String(repeating: "e", count: 32), checksum: "sha256:" + String(repeating: "c", count: 64)), time: 100)
    }
    log.close()
    let back = try #require(loaded(journal, "long"))
    #expect(back.files.allSatisfy { $0.state == .done })
}

@Test func linesAreHandedOverOneByOneAndAnOverlongLineEndsTheRead() throws {
    let journal = try tempJournal()
    let path = journal.directory + "/lines"
    try AtomicFile.write("a\n\nbb\n" + String(repeating: "x", count: 200_000) + "\ncc\nlast", to: path)
    var lines: [String] = []
    #expect(AtomicFile.forEachLine(path) { lines.append(String($0)); return true })
    #expect(lines.map(\.count) == [1, 0, 2, 200_000, 2, 4])
    lines = []
    AtomicFile.forEachLine(path, maxLine: 1000) { lines.append(String($0)); return true }
    #expect(lines.map(\.count) == [1, 0, 2, 1000])
    lines = []
    AtomicFile.forEachLine(path) { lines.append(String($0)); return lines.count < 2 }
    #expect(lines == ["a", ""])
    #expect(!AtomicFile.forEachLine(path + ".missing") { _ in true })
}
