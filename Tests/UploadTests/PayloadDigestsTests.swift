import Hashing
import Testing

@testable import Upload

#if canImport(Glibc)
    import Glibc
#endif

/// The digests a body is sent with (issue 17): only the kinds asked for, each equal to a one-shot
/// computation, and a shared cache that computes what every vault needs once.
@Suite struct PayloadDigestsTests {
    static func file(_ bytes: [UInt8]) -> (fd: Int32, path: String) {
        var template = Array("/tmp/offsite-digests-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        let path = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return (fd, path)
    }

    static let bytes: [UInt8] = (0..<(3 << 20) + 17).map { UInt8(truncatingIfNeeded: $0 &* 31 ^ $0 >> 9) }

    @Test func onlyTheKindsAskedFor() throws {
        let (fd, path) = Self.file(Self.bytes)
        defer {
            close(fd)
            unlink(path)
        }
        let hasher = RegionHasher(bufferSize: 1 << 16)
        let crcOnly = try hasher.digest(fd: fd, offset: 100, length: 2_000_000, kinds: [.crc32c])
        #expect(crcOnly.sha256 == nil && crcOnly.md5 == nil)
        #expect(crcOnly.crc32c == CRC32C.checksum(Array(Self.bytes[100..<2_000_100])))
        let all = try hasher.digest(fd: fd, offset: 0, length: Int64(Self.bytes.count), kinds: [.sha256, .md5, .crc32c])
        #expect(all.sha256 == Digest.sha256(Self.bytes))
        #expect(all.md5 == Digest.md5(Self.bytes))
        #expect(all.crc32c == CRC32C.checksum(Self.bytes))
        // The hasher starts each region afresh.
        let again = try hasher.digest(fd: fd, offset: 100, length: 2_000_000, kinds: [.crc32c, .sha256])
        #expect(again.crc32c == crcOnly.crc32c)
        #expect(again.sha256 == Digest.sha256(Array(Self.bytes[100..<2_000_100])))
    }

    /// Parts' CRCs combined in order give the one-pass CRC of the file: the full-object checksum
    /// a multipart upload names at Complete.
    @Test func partCRCsCombineToTheFile() throws {
        let (fd, path) = Self.file(Self.bytes)
        defer {
            close(fd)
            unlink(path)
        }
        let hasher = RegionHasher()
        let partSize: Int64 = 1 << 20
        var combined = CRC32C.empty
        var offset: Int64 = 0
        while offset < Int64(Self.bytes.count) {
            let length = min(partSize, Int64(Self.bytes.count) - offset)
            let part = try hasher.digest(fd: fd, offset: offset, length: length, kinds: [.crc32c])
            combined = CRC32C.combine(combined, part.crc32c!, lengthB: length)
            offset += length
        }
        #expect(combined == CRC32C.checksum(Self.bytes))
    }

    @Test func cacheComputesTheUnionOnce() throws {
        let cache = DigestCache(always: [.sha256, .crc32c])
        var computed: [DigestKinds] = []
        let first = cache.digests(path: "/p", inode: 1, mtime: 1, offset: 0, length: 10, need: [.crc32c]) { kinds in
            computed.append(kinds)
            return PayloadDigests(sha256: kinds.contains(.sha256) ? [1] : nil, crc32c: kinds.contains(.crc32c) ? 7 : nil)
        }
        #expect(first.crc32c == 7 && first.sha256 == [1])
        let second = cache.digests(path: "/p", inode: 1, mtime: 1, offset: 0, length: 10, need: [.sha256]) { kinds in
            computed.append(kinds)
            return PayloadDigests(sha256: [2])
        }
        #expect(second.sha256 == [1])
        // MD5 was not computed for the cache: asked for, it is computed (not taken from the cache).
        let third = cache.digests(path: "/p", inode: 1, mtime: 1, offset: 0, length: 10, need: [.md5]) { kinds in
            computed.append(kinds)
            return PayloadDigests(md5: [3])
        }
        #expect(third.md5 == [3])
        #expect(computed == [[.sha256, .crc32c], [.md5]])
    }
}
