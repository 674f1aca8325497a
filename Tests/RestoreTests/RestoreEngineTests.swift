import Testing
import Vault

@testable import Restore

@Suite struct RestoreEngineTests {
    static let MiB: Int64 = 1 << 20

    @Test func aChunkOverlappingSeveralBadPartsIsFetchedOnce() {
        // 8 MiB ranges over 5 MiB parts: range 0 overlaps parts 1 and 2.
        let chunks = VaultSession.chunks(size: 11 * Self.MiB, chunkSize: 8 * Self.MiB)
        let parts = [
            OffsiteManifest.Segment(offset: 0, length: 5 * Self.MiB, sha256: nil),
            OffsiteManifest.Segment(offset: 5 * Self.MiB, length: 5 * Self.MiB, sha256: nil),
        ]
        #expect(RestoreEngine.chunksOverlapping(parts, chunks: chunks) == [0, 1])
        #expect(RestoreEngine.chunksOverlapping([parts[0]], chunks: chunks) == [0])
        #expect(RestoreEngine.chunksOverlapping([OffsiteManifest.Segment(offset: 10 * Self.MiB, length: Self.MiB, sha256: nil)], chunks: chunks) == [1])
        #expect(RestoreEngine.chunksOverlapping([], chunks: chunks).isEmpty)
    }
}
