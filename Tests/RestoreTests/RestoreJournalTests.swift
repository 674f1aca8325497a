import AgentSupport
import HTTPTransport
import TestSupport
import Testing
import Vault

@testable import Restore

@Suite struct RestoreJournalTests {
    @Test func roundTripsThroughTheTarget() throws {
        let dir = try TemporaryDirectory()
        #expect(AtomicFile.makeDirectories(dir.path + "/" + RestorePaths.stagingName))
        let journal = RestoreJournal(
            backup: "b1", vault: "primary", manifestSHA256: "abc", chunkSize: 8 << 20,
            files: [.init(path: "a", size: 3, done: true), .init(path: "n/b", size: 20 << 20, chunks: [0, 2])])
        try journal.save(target: dir.path)
        #expect(RestoreJournal.load(target: dir.path) == journal)
    }

    /// Written one file per line (streamed, issue 19), read back as it was; an empty list too.
    @Test(arguments: [0, 1, 3]) func writtenOneFilePerLine(count: Int) throws {
        let dir = try TemporaryDirectory()
        #expect(AtomicFile.makeDirectories(dir.path + "/" + RestorePaths.stagingName))
        let journal = RestoreJournal(
            backup: "b1", vault: "v", manifestSHA256: "abc", chunkSize: 8,
            files: (0..<count).map { .init(path: "d/\"f\($0)\"", size: Int64($0) * 10, done: $0 == 1, chunks: $0 == 2 ? [0, 1] : []) })
        try journal.save(target: dir.path)
        let text = try #require(AtomicFile.read(RestoreJournal.path(in: dir.path)))
        #expect(text.split(separator: "\n").count == count + 2)
        #expect(RestoreJournal.load(target: dir.path) == journal)
    }

    @Test func damagedJournalIsNotTrusted() throws {
        let dir = try TemporaryDirectory()
        #expect(AtomicFile.makeDirectories(dir.path + "/" + RestorePaths.stagingName))
        try dir.write(RestorePaths.stagingName + "/journal.json", "{\"format\": 1, \"backup\": ")
        #expect(RestoreJournal.load(target: dir.path) == nil)
    }

    @Test func chunkSetsHoldTheirChunksInWordAndBeyond() {
        var set = ChunkSet([0, 3, 63, 64, 1000])
        #expect(set.count == 5 && set.contains(63) && set.contains(64) && !set.contains(62))
        #expect(set.sorted() == [0, 3, 63, 64, 1000])
        set.subtract([3, 1000, 7])
        set.remove(0)
        #expect(set.sorted() == [63, 64])
        set.formUnion([5, 70])
        #expect(set.sorted() == [5, 63, 64, 70])
        #expect(Set([5, 6, 70]).subtracting(set) == [6])
        set.subtract(Array(set))
        #expect(set.isEmpty && set == ChunkSet())
    }

    @Test func chunksCoverTheSizeExactly() {
        let chunks = VaultSession.chunks(size: 20, chunkSize: 8)
        #expect(chunks.map(\.offset) == [0, 8, 16])
        #expect(chunks.map(\.length) == [8, 8, 4])
        #expect(VaultSession.chunks(size: 0, chunkSize: 8).isEmpty)
    }

    @Test func aServerIgnoringRangeIsCaught() {
        func response(_ status: Int, _ length: Int64, range: String? = nil) -> HTTPResponse {
            HTTPResponse(status: status, headers: range.map { [("Content-Range", $0)] } ?? [], body: [], bodyLength: length, totalTime: 0)
        }
        #expect(VaultSession.rangeProblem(response(206, 8), offset: 8, length: 8, objectSize: 20) == nil)
        #expect(VaultSession.rangeProblem(response(200, 20), offset: 0, length: 20, objectSize: 20) == nil)
        #expect(VaultSession.rangeProblem(response(200, 20), offset: 8, length: 8, objectSize: 20) != nil)
        #expect(VaultSession.rangeProblem(response(206, 5), offset: 8, length: 8, objectSize: 20) != nil)
        // A 200 that names the range it carries is read leniently.
        #expect(VaultSession.rangeProblem(response(200, 8, range: "bytes 8-15/20"), offset: 8, length: 8, objectSize: 20) == nil)
        #expect(VaultSession.rangeProblem(response(206, 8, range: "bytes 0-7/20"), offset: 8, length: 8, objectSize: 20) != nil)
    }
}

@Suite struct RestoreJournalFormatTests {
    static let fixture: String = {
        let file = #filePath
        return String(file[..<file.lastIndex(of: "/")!]) + "/Fixtures/restore-journal-format1.json"
    }()

    @Test func aFormat1RestoreJournalIsRead() throws {
        let dir = try TemporaryDirectory()
        #expect(AtomicFile.makeDirectories(dir.path + "/" + RestorePaths.stagingName))
        try dir.write(RestorePaths.stagingName + "/journal.json", try #require(AtomicFile.read(Self.fixture)))
        try RestoreJournal.refuseNewer(target: dir.path)
        let journal = try #require(RestoreJournal.load(target: dir.path))
        #expect(journal.backup == "2026-11-21-0300-files" && journal.chunkSize == 8 << 20)
        #expect(journal.files == [.init(path: "etc.tar.gz", size: 300_000, done: true), .init(path: "db/dump.sql.gz", size: 40 << 20, chunks: [0, 1, 3])])
    }

    @Test func aNewerRestoreJournalIsRefusedByName() throws {
        let dir = try TemporaryDirectory()
        #expect(AtomicFile.makeDirectories(dir.path + "/" + RestorePaths.stagingName))
        let text = try #require(AtomicFile.read(Self.fixture)).replacingAll("\"format\": 1", with: "\"format\": \(RestoreJournal.newestFormat + 1)")
        try dir.write(RestorePaths.stagingName + "/journal.json", text)
        do {
            try RestoreJournal.refuseNewer(target: dir.path)
            Issue.record("a newer restore journal was accepted")
        } catch {
            #expect(error.code == .journalTooNew)
            #expect(error.message.contains(RestoreJournal.path(in: dir.path)))
        }
        #expect(AtomicFile.read(RestoreJournal.path(in: dir.path)) == text)
    }
}
