import Testing

@testable import Hashing

/// CRC-64/NVME (issue 17): published check values, AWS's own test vectors, and the laws the
/// full-object checksum of parts relies on.
@Suite struct CRC64NVMETests {
    /// The CRC catalogue's check value for CRC-64/NVME.
    @Test func checkValue() {
        #expect(CRC64NVME.checksum(Array("123456789".utf8)) == 0xAE8B_1486_0A79_9888)
        #expect(CRC64NVME.checksum([]) == 0)
    }

    /// Vectors from AWS's checksum libraries' tests (aws-c-s3's "aaaaaaaaaa", aws-checksums' 32
    /// zeros and bytes 0...31), and the base64 header form of an S3 answer.
    @Test func awsVectors() {
        #expect(CRC64NVME.checksum(Array(repeating: UInt8(ascii: "a"), count: 10)) == 0x0C1A_8003_6D65_C555)
        #expect(CRC64NVME.checksum([UInt8](repeating: 0, count: 32)) == 0xCF34_7343_4D4E_CF3B)
        #expect(CRC64NVME.checksum((0..<32).map { UInt8($0) }) == 0xB9D9_D4A8_492C_BD7F)
        #expect(CRC64NVME.headerValue(0xAE8B_1486_0A79_9888) == "rosUhgp5mIg=")
        #expect(CRC64NVME.parseHeader("rosUhgp5mIg=") == 0xAE8B_1486_0A79_9888)
        #expect(CRC64NVME.parseHeader(" SoXXbx67KpE= ") == CRC64NVME.checksum(Array("Hello, World!\n".utf8)))
        #expect(CRC64NVME.parseHeader("rosUhgp5") == nil)
        #expect(CRC64NVME.hex(0x0C1A_8003_6D65_C555) == "0c1a80036d65c555")
    }

    /// Slice-by-8 (8 bytes a step) equals the byte-at-a-time definition at every length and
    /// alignment, and continuing a CRC equals one pass.
    @Test func sliceBy8MatchesTheDefinition() {
        func bitwise(_ bytes: ArraySlice<UInt8>) -> UInt64 {
            var crc = ~UInt64(0)
            for b in bytes {
                crc ^= UInt64(b)
                for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ CRC64NVME.reflectedPolynomial : crc >> 1 }
            }
            return ~crc
        }
        let bytes: [UInt8] = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ 7) }
        for start in 0..<9 {
            for end in stride(from: start, through: bytes.count, by: 13) {
                #expect(bytes[start..<end].withUnsafeBytes { CRC64NVME.update(CRC64NVME.empty, $0) } == bitwise(bytes[start..<end]))
            }
        }
        let split = bytes[0..<123].withUnsafeBytes { CRC64NVME.update(CRC64NVME.empty, $0) }
        #expect(bytes[123...].withUnsafeBytes { CRC64NVME.update(split, $0) } == CRC64NVME.checksum(bytes))
    }

    /// combine(crc(A), crc(B), len(B)) == crc(A‖B): the full-object CRC of parts sent in parallel.
    @Test func combineEqualsOnePass() {
        let bytes: [UInt8] = (0..<(1 << 20) + 77).map { UInt8(truncatingIfNeeded: $0 &* 31 ^ $0 >> 7) }
        for cut in [0, 1, 7, 8, 4096, 65_537, 1 << 20, bytes.count] {
            let a = CRC64NVME.checksum(Array(bytes[..<cut]))
            let b = CRC64NVME.checksum(Array(bytes[cut...]))
            #expect(CRC64NVME.combine(a, b, lengthB: Int64(bytes.count - cut)) == CRC64NVME.checksum(bytes))
        }
        var flipped = bytes
        flipped[500] ^= 0x10
        #expect(CRC64NVME.checksum(flipped) != CRC64NVME.checksum(bytes))
    }
}
