import AgentSupport
import Hashing
import Testing
import Vault

@testable import Restore

@Suite struct OffsiteManifestTests {
    static let text = """
        {"format": 1, "backup": "2026-11-21-0300-files", "host": "web-01", "type": "files",
         "created_at": "2026-11-21T03:00:00Z", "uploaded_at": "2026-11-21T03:10:00Z", "agent_version": "0.1.0",
         "files": [
          {"path": "a.tar", "key": "web-01/2026-11-21-0300-files/a.tar", "size": 3, "etag": "e1", "sha256": "ABC"},
          {"path": "big.tar", "key": "web-01/2026-11-21-0300-files/big.tar", "size": 25, "etag": "e2-3", "part_size": 10,
           "sha256_parts": ["p1", "p2", "p3"]},
          {"path": "old.tar", "key": "k", "size": 0, "etag": ""}
         ]}
        """

    @Test func readsEveryFieldTheUploadEngineWrites() throws {
        let m = try #require(OffsiteManifest.parse(Self.text))
        #expect(m.backup == "2026-11-21-0300-files")
        #expect(m.host == "web-01")
        #expect(m.type == "files")
        #expect(m.files.count == 3)
        #expect(m.files[0].checksum == .sha256("ABC"))
        #expect(m.files[1].checksum == .parts(partSize: 10, sha256: ["p1", "p2", "p3"]))
        #expect(m.files[2].checksum == .none)
        #expect(m.totalBytes == 28)
    }

    @Test func dateIsCreatedAtThenUploadedAt() throws {
        let m = try #require(OffsiteManifest.parse(Self.text))
        #expect(m.date == Timestamp.parseISO8601("2026-11-21T03:00:00Z"))
        var n = m
        n.createdAt = nil
        #expect(n.date == Timestamp.parseISO8601("2026-11-21T03:10:00Z"))
    }

    @Test func partSegmentsCoverTheFileWithAShorterLastPart() throws {
        let m = try #require(OffsiteManifest.parse(Self.text))
        let segments = m.files[1].segments
        #expect(segments.map(\.offset) == [0, 10, 20])
        #expect(segments.map(\.length) == [10, 10, 5])
        #expect(segments.map(\.sha256) == ["p1", "p2", "p3"])
        #expect(m.files[0].segments == [OffsiteManifest.Segment(offset: 0, length: 3, sha256: "abc")])
        #expect(m.files[1].partsAreConsistent)
    }

    @Test func aPartListThatCannotDescribeTheSizeIsInconsistent() {
        let f = OffsiteManifest.File(path: "x", key: "k", size: 35, etag: "", checksum: .parts(partSize: 10, sha256: ["a", "b"]))
        #expect(!f.partsAreConsistent)
    }

    @Test func refusesWhatIsNotAManifest() {
        #expect(OffsiteManifest.parse("not json") == nil)
        #expect(OffsiteManifest.parse(#"{"format": 3, "backup": "x", "files": []}"#) == nil)
        // Format 2 (encrypted files) needs the stored size beside the plaintext's.
        #expect(OffsiteManifest.parse(#"{"format": 2, "backup": "x", "files": [{"path": "a", "size": 5, "encryption": {"format": "age"}}]}"#) == nil)
        #expect(OffsiteManifest.parse(#"{"format": 1, "backup": "x", "files": [{"path": "a"}]}"#) == nil)
    }

    @Test func readsEncryptedFiles() throws {
        let text = #"{"format": 2, "backup": "x", "files": [{"path": "a", "key": "p/x/a.age", "size": 5, "stored_size": 216, "sha256": "ab", "encryption": {"format": "age", "recipients": ["age1r"]}}]}"#
        let m = try #require(OffsiteManifest.parse(text))
        #expect(m.files[0].size == 216)
        #expect(m.files[0].plaintextSize == 5)
        #expect(m.files[0].encryption == OffsiteManifest.Encryption(format: "age", recipients: ["age1r"]))
        #expect(m.isEncrypted)
    }

    @Test func fingerprintChangesWithContent() throws {
        let m = try #require(OffsiteManifest.parse(Self.text))
        var n = m
        n.files[0].size = 4
        #expect(m.fingerprint != n.fingerprint)
        #expect(m.fingerprint == (try #require(OffsiteManifest.parse(Self.text))).fingerprint)
    }
}
