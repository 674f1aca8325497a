import AgentSupport
import Backups
import Testing

@testable import Upload

#if canImport(Glibc)
    import Glibc
#endif

/// Journals carry a format number: every format an agent ever wrote stays readable, and a file from
/// a newer agent is refused with its name, never misread nor moved aside as damaged.
@Suite struct JournalFormatTests {
    static let fixtures: String = {
        let file = #filePath
        return String(file[..<file.lastIndex(of: "/")!]) + "/Fixtures"
    }()

    static func tempJournal() throws -> Journal {
        var template = Array("/tmp/journal-format-XXXXXX".utf8CString)
        let journal = Journal(stateDir: String(cString: mkdtemp(&template)!))
        try journal.prepare()
        return journal
    }

    static func fixture(_ name: String) throws -> String {
        try #require(AtomicFile.read("\(fixtures)/\(name)"), "missing fixture \(name)")
    }

    @Test func aFormat1EntryIsReadAndResumable() throws {
        let journal = try Self.tempJournal()
        try AtomicFile.write(try Self.fixture("journal-format1.json"), to: journal.path(of: "5f0c1d2e3a4b5c6d"))
        guard case .entry(let entry) = journal.load("5f0c1d2e3a4b5c6d") else {
            Issue.record("the format 1 journal did not load")
            return
        }
        #expect(entry.state == .interrupted && entry.isResumable)
        #expect(entry.backup == "2026-11-21-0300-files" && entry.vault == "primary" && entry.prefix == "web-01/")
        #expect(entry.files.count == 2)
        let first = entry.files[0]
        #expect(first.state == .uploading && first.uploadID == "2~x9fAbCdEfGhIjKlMnOpQrStUvWx" && first.partSize == 16 << 20)
        #expect(first.parts == [JournalEntry.Part(number: 1, etag: "\"9e107d9d372bb6826bd81d3542a419d6\"", size: 16 << 20,
            sha256: "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592", md5: "9e107d9d372bb6826bd81d3542a419d6")])
        #expect(first.identity == FileIdentity(size: 41_943_040, mtimeNanos: 1_763_693_990_123_456_789, inode: 1_048_577))
        #expect(entry.files[1].state == .done && entry.files[1].checksum?.hasPrefix("sha256:") == true)
        #expect(entry.bytesDone == (16 << 20) + 300_000)
        // Saved again by this agent, it is still format 1 with the same progress.
        try journal.save(entry)
        guard case .entry(let again) = journal.load(entry.id) else {
            Issue.record("the re-saved entry did not load")
            return
        }
        #expect(JSON.parse(AtomicFile.read(journal.path(of: entry.id))!)?["version"]?.intValue == 1)
        #expect(again.files[0].parts == first.parts && again.bytesDone == entry.bytesDone)
    }

    @Test func aNewerFormatIsRefusedByNameAndLeftInPlace() throws {
        let journal = try Self.tempJournal()
        let newer = try Self.fixture("journal-format1.json").replacingAll("\"version\": 1,", with: "\"version\": \(JournalEntry.newestFormat + 1),")
        try AtomicFile.write(newer, to: journal.path(of: "future"))
        guard case .newer(let path, let version) = journal.load("future") else {
            Issue.record("a newer journal was not refused")
            return
        }
        #expect(path == journal.path(of: "future") && version == JournalEntry.newestFormat + 1)
        #expect(AtomicFile.read(path) == newer, "the newer agent's file must be left as it was")
        let listing = journal.all()
        #expect(listing.entries.isEmpty && listing.corrupt.isEmpty)
        #expect(listing.newer.count == 1)
        let error = try #require(listing.newer.first)
        #expect(error.code == .journalTooNew && error.exitStatus == .config)
        #expect(error.message.contains(journal.path(of: "future")) && error.message.contains("format \(JournalEntry.newestFormat + 1)"))
    }

    @Test func aDamagedFileIsStillSetAside() throws {
        let journal = try Self.tempJournal()
        try AtomicFile.write("{\"version\": 1, \"id\": ", to: journal.path(of: "torn"))
        guard case .corrupt = journal.load("torn") else {
            Issue.record("a torn journal file must be set aside")
            return
        }
    }
}
