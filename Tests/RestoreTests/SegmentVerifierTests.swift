import Hashing
import Testing
import Vault

@testable import Restore

@Suite struct SegmentVerifierTests {
    static let bytes: [UInt8] = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }

    static func sha(_ slice: ArraySlice<UInt8>) -> String { Digest.sha256(Array(slice)).hexString }

    @Test func wholeFileHashMatchesWhateverTheChunking() {
        for step in [1, 7, 333, 1000] {
            let v = SegmentVerifier(segments: [.init(offset: 0, length: 1000, sha256: Self.sha(Self.bytes[...]))])
            var i = 0
            while i < Self.bytes.count {
                v.update(Array(Self.bytes[i..<min(i + step, Self.bytes.count)]))
                i += step
            }
            #expect(v.isComplete)
            #expect(v.mismatches.isEmpty, "step \(step)")
        }
    }

    @Test func namesThePartThatDiffers() {
        let file = OffsiteManifest.File(
            path: "p", key: "k", size: 1000, etag: "",
            checksum: .parts(partSize: 400, sha256: [Self.sha(Self.bytes[0..<400]), Self.sha(Self.bytes[400..<800]), Self.sha(Self.bytes[800..<1000])]))
        var damaged = Self.bytes
        damaged[500] ^= 0xFF
        let v = SegmentVerifier(segments: file.segments)
        v.update(Array(damaged[0..<850]))
        #expect(v.mismatches == [1])
        #expect(v.position == 850)
        v.update(Array(damaged[850...]))
        #expect(v.isComplete)
        #expect(v.mismatches == [1])
    }

    @Test func emptyFileIsCheckedWithoutBytes() {
        let empty = Digest.sha256([UInt8]()).hexString
        #expect(SegmentVerifier(segments: [.init(offset: 0, length: 0, sha256: empty)]).isComplete)
        #expect(SegmentVerifier(segments: [.init(offset: 0, length: 0, sha256: empty)]).mismatches.isEmpty)
        #expect(SegmentVerifier(segments: [.init(offset: 0, length: 0, sha256: String(repeating: "0", count: 64))]).mismatches == [0])
    }

    @Test func segmentWithoutExpectedHashCountsAsUnchecked() {
        let v = SegmentVerifier(segments: [.init(offset: 0, length: 3, sha256: nil)])
        v.update([1, 2, 3])
        #expect(v.isComplete)
        #expect(v.mismatches.isEmpty)
        #expect(v.unchecked == 1)
    }
}
