import Hashing
import Testing
import Vault

@testable import Restore

/// Files uploaded with x-amz-checksum-crc32c (issue 17): the manifest's `crc32c` is read and
/// restore / verify --deep compare the whole file's CRC-32C with it.
@Suite struct CRC32CManifestTests {
    static let bytes: [UInt8] = (0..<3000).map { UInt8(truncatingIfNeeded: $0 * 13 + 5) }

    static func manifest(_ fileFields: String) -> String {
        #"{"format": 1, "backup": "b1", "host": "h", "files": [{"path": "x.tar", "key": "h/b1/x.tar", "size": 3000, "etag": "e", "#
            + fileFields + "}]}"
    }

    @Test func crc32cIsReadAsTheFilesChecksum() throws {
        let crc = CRC32C.checksum(Self.bytes)
        let m = try #require(OffsiteManifest.parse(Self.manifest(#""part_size": 1000, "crc32c": "\#(CRC32C.hex(crc))""#)))
        #expect(m.files[0].checksum == .crc32c(crc))
        #expect(m.files[0].segments == [OffsiteManifest.Segment(offset: 0, length: 3000, sha256: nil, crc32c: crc)])
    }

    @Test func aDamagedCRCValueIsADamagedManifest() {
        #expect(OffsiteManifest.parse(Self.manifest(#""crc32c": "xyz""#)) == nil)
        #expect(OffsiteManifest.parse(Self.manifest(#""crc32c": "e30692830""#)) == nil)
    }

    @Test func verifierComparesTheCRC() {
        let crc = CRC32C.checksum(Self.bytes)
        let file = OffsiteManifest.File(path: "x.tar", key: "k", size: 3000, etag: "", checksum: .crc32c(crc))
        for step in [1, 999, 3000] {
            let v = SegmentVerifier(segments: file.segments)
            for start in stride(from: 0, to: Self.bytes.count, by: step) { v.update(Array(Self.bytes[start..<min(start + step, Self.bytes.count)])) }
            #expect(v.isComplete && v.unchecked == 0)
            #expect(v.mismatches.isEmpty, "step \(step)")
        }
        var damaged = Self.bytes
        damaged[2222] ^= 0x01
        let v = SegmentVerifier(segments: file.segments)
        v.update(damaged)
        #expect(v.mismatches == [0])
    }
}
