import AgentSupport
import Backups
import Testing

@testable import Upload
@testable import Vault

/// The manifest the upload engine writes, read back by the reader `list`, `verify`, `restore` and
/// `prune` use: the writer's own output, not a hand-written literal.
@Suite struct ManifestRoundTripTests {
    static func file(_ path: String, size: Int64) -> JournalEntry.File {
        JournalEntry.File(path: path, sourcePath: "/srv/b/\(path)", key: "host-a/b1/\(path)", identity: FileIdentity(size: size, mtimeNanos: 1, inode: 2))
    }

    static func written(encrypted: Bool = false, compactAbove: Int = 1000) -> (files: [JournalEntry.File], text: String) {
        var single = file("a.tar", size: 3)
        single.etag = "e1"
        single.checksum = "sha256:" + String(repeating: "ab", count: 32)
        var multi = file("nested/big.tar", size: 25)
        multi.etag = "e2-3"
        multi.uploadID = "u1"
        multi.partSize = 10
        multi.parts = [3, 1, 2].map { JournalEntry.Part(number: $0, etag: "p\($0)", size: $0 == 3 ? 5 : 10, sha256: String(repeating: "\($0)", count: 64), md5: nil) }
        var empty = file("empty.bin", size: 0)
        empty.checksum = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        if encrypted {
            single.encryption = JournalEntry.Encryption(
                recipients: ["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"], storedSize: 3 + 200, fileKey: nil, header: nil, nonce: nil)
        }
        let files = [single, multi, empty]
        // An earlier manifest's entry this upload did not send is kept; one it did send is replaced.
        let keeping: [OffsiteManifest.File] = [
            OffsiteManifest.File(path: "old.tar", key: "k", size: 7, etag: "", checksum: .none),
            OffsiteManifest.File(path: "a.tar", key: "stale", size: 99, etag: "x", checksum: .none),
        ]
        var manifest = OffsiteManifest.of(
            sent: files, backupID: "b1", host: "web-01", type: "files", createdAt: "2026-11-21T03:00:00Z", agentVersion: "9.9.9",
            uploadedAt: 1_795_230_600)
        manifest.keep(keeping)
        return (files, String(decoding: manifest.bytes(compactAbove: compactAbove), as: UTF8.self))
    }

    /// Both layouts: indented, and compact one file per line as written for many files (issue 19).
    @Test(arguments: [1000, 0]) func theReaderReadsEverythingTheWriterWrites(compactAbove: Int) throws {
        let (_, text) = Self.written(compactAbove: compactAbove)
        let m = try OffsiteManifest.decode(text)
        #expect(m.backup == "b1")
        #expect(m.host == "web-01")
        #expect(m.type == "files")
        #expect(m.createdAt == "2026-11-21T03:00:00Z")
        #expect(m.uploadedAt == "2026-11-21T03:10:00Z")
        #expect(m.agentVersion == "9.9.9")
        #expect(m.files.map(\.path) == ["a.tar", "empty.bin", "nested/big.tar", "old.tar"])
        let byPath = Dictionary(uniqueKeysWithValues: m.files.map { ($0.path, $0) })
        #expect(byPath["a.tar"]?.key == "host-a/b1/a.tar")
        #expect(byPath["a.tar"]?.size == 3)
        #expect(byPath["a.tar"]?.etag == "e1")
        #expect(byPath["a.tar"]?.checksum == .sha256(String(repeating: "ab", count: 32)))
        // Parts in number order, whatever order the journal holds them in.
        #expect(byPath["nested/big.tar"]?.checksum == .parts(partSize: 10, sha256: ["1", "2", "3"].map { String(repeating: $0, count: 64) }))
        #expect(byPath["nested/big.tar"]?.partsAreConsistent == true)
        #expect(byPath["nested/big.tar"]?.segments.map(\.length) == [10, 10, 5])
        #expect(byPath["old.tar"]?.size == 7)
        #expect(m.totalBytes == 3 + 0 + 25 + 7)
        #expect(m.date == Timestamp.parseISO8601("2026-11-21T03:00:00Z"))
        if compactAbove > 0 {
            #expect(text.hasPrefix("{\n  \"format\": 1,\n  \"backup\": \"b1\",\n  \"host\": \"web-01\""))
        } else {
            #expect(text.hasPrefix("{\"format\": 1, \"backup\": \"b1\", \"host\": \"web-01\""))
            #expect(text.split(separator: "\n").count == 1 + 4 + 1)
        }
    }

    @Test(arguments: [1000, 0]) func encryptedFilesMakeFormatTwoAndKeepBothSizes(compactAbove: Int) throws {
        let (_, text) = Self.written(encrypted: true, compactAbove: compactAbove)
        let m = try OffsiteManifest.decode(text)
        #expect(text.contains("\"format\": 2"))
        let a = try #require(m.files.first { $0.path == "a.tar" })
        #expect(a.size == 203)
        #expect(a.plaintextSize == 3)
        #expect(a.encryption != nil)
    }

    /// Reading a manifest and writing it again gives the same document: one type both ways, so
    /// a manifest merged by a later upload keeps every field of the entries it did not send.
    @Test func writingWhatWasReadGivesTheSameDocument() throws {
        for encrypted in [false, true] {
            for compactAbove in [1000, 0] {
                let (_, text) = Self.written(encrypted: encrypted, compactAbove: compactAbove)
                let again = String(decoding: try OffsiteManifest.decode(text).bytes(compactAbove: compactAbove), as: UTF8.self)
                #expect(again == text)
            }
        }
        var crc = OffsiteManifest(backup: "b", host: "h", uploadedAt: "2026-11-21T03:10:00Z", files: [
            OffsiteManifest.File(path: "x", key: "p/b/x", size: 5, etag: "e", checksum: .crc32c(0x0123_abcd))
        ])
        crc.agentVersion = "1"
        let text = crc.json().serialized()
        #expect(text.contains("\"crc32c\": \"0123abcd\""))
        #expect(try OffsiteManifest.decode(text).files.first?.checksum == .crc32c(0x0123_abcd))
    }
}
