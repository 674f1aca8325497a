import Testing

@testable import Hashing

@Suite struct CRC32CTests {
    /// Published check value of CRC-32C (Castagnoli): "123456789" -> 0xE3069283 (RFC 3720 B.4 family;
    /// Williams' catalogue "CRC-32/ISCSI" check).
    @Test func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
    }

    /// RFC 3720 appendix B.4: 32 bytes of zeros, of 0xFF, ascending and descending.
    @Test func rfc3720Vectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
    }

    @Test func incrementalEqualsOnePass() {
        let bytes = (0..<100_003).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        var crc = CRC32C.empty
        var i = 0
        for step in [1, 7, 64, 4095, 50_000] where i < bytes.count {
            let end = min(bytes.count, i + step)
            crc = bytes[i..<end].withUnsafeBytes { CRC32C.update(crc, $0) }
            i = end
        }
        crc = bytes[i...].withUnsafeBytes { CRC32C.update(crc, $0) }
        #expect(crc == CRC32C.checksum(bytes))
    }

    /// crc(A‖B) from crc(A), crc(B) and |B| equals the one-pass CRC, at every split and for parts
    /// combined in order (a multipart upload's full-object checksum).
    @Test func combineMatchesOnePass() {
        let bytes = (0..<5000).map { UInt8(truncatingIfNeeded: ($0 * 131 + 17) ^ ($0 >> 3)) }
        let whole = CRC32C.checksum(bytes)
        for split in [0, 1, 2, 3, 7, 8, 9, 255, 256, 2500, 4096, 4999, 5000] {
            let a = CRC32C.checksum(Array(bytes[..<split]))
            let b = CRC32C.checksum(Array(bytes[split...]))
            #expect(CRC32C.combine(a, b, lengthB: Int64(bytes.count - split)) == whole, "split at \(split)")
        }
        var combined = CRC32C.empty
        var offset = 0
        for size in [1000, 1000, 1000, 1000, 1000] {
            let part = Array(bytes[offset..<offset + size])
            combined = CRC32C.combine(combined, CRC32C.checksum(part), lengthB: Int64(size))
            offset += size
        }
        #expect(combined == whole)
        // A large length (16 MiB parts of a big file) takes the same path: zeros combine like data.
        let zeros = [UInt8](repeating: 0, count: 3 << 20)
        let zeroCRC = CRC32C.checksum(zeros)
        #expect(CRC32C.combine(CRC32C.checksum([1, 2, 3]), zeroCRC, lengthB: Int64(zeros.count)) == CRC32C.checksum([1, 2, 3] + zeros))
    }

    /// A flipped bit changes the CRC (what lets the server refuse a damaged body).
    @Test func bitFlipChangesCRC() {
        var bytes = [UInt8](repeating: 0x5A, count: 4096)
        let good = CRC32C.checksum(bytes)
        bytes[1234] ^= 0x10
        #expect(CRC32C.checksum(bytes) != good)
    }

    /// x-amz-checksum-crc32c carries the CRC's 4 big-endian bytes in base64.
    @Test func headerForm() {
        #expect(CRC32C.headerValue(0xE306_9283) == [0xE3, 0x06, 0x92, 0x83].base64String)
        #expect(CRC32C.parseHeader(CRC32C.headerValue(0xE306_9283)) == 0xE306_9283)
        #expect(CRC32C.parseHeader("AAAA") == nil)
        #expect(CRC32C.parseHeader("not base64!") == nil)
        #expect(CRC32C.hex(0x0000_00FF) == "000000ff")
        #expect(CRC32C.parseHex("e3069283") == 0xE306_9283)
        #expect(CRC32C.parseHex("e30692") == nil)
    }
}
