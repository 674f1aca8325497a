import CISAL

/// CRC-32C (Castagnoli; iSCSI, `x-amz-checksum-crc32c`) through Intel ISA-L's SIMD `crc32_iscsi`.
///
/// Values here are the standard CRC (reflected, initial value and final XOR 0xFFFFFFFF): the
/// check value of "123456789" is 0xE3069283. ISA-L's function does neither inversion itself, so
/// continuing a CRC `c` over more bytes is `~crc32_iscsi(bytes, n, ~c)`; its length is an `int`,
/// so longer buffers are fed in slices.
public enum CRC32C {
    /// The CRC of no bytes.
    public static let empty: UInt32 = 0

    /// `crc` (of some earlier bytes) continued over `buffer`.
    public static func update(_ crc: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return crc }
        var state = ~crc
        var done = 0
        let slice = 1 << 30
        while done < buffer.count {
            let n = min(slice, buffer.count - done)
            state = crc32_iscsi(UnsafeMutablePointer(mutating: (base + done).assumingMemoryBound(to: UInt8.self)), Int32(n), state)
            done += n
        }
        return ~state
    }

    /// The CRC of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(empty, $0) }
    }

    /// The CRC of A followed by B, from the CRC of A, the CRC of B and B's length: parts sent in
    /// parallel give the whole object's CRC without reading it again. zlib's GF(2) matrix method
    /// (crc32_combine) over the CRC-32C polynomial.
    public static func combine(_ crcA: UInt32, _ crcB: UInt32, lengthB: Int64) -> UInt32 {
        CRCCombine.combine(crcA, crcB, length: lengthB, reflectedPolynomial: UInt32(0x82F6_3B78))
    }

    /// The big-endian bytes of a CRC, base64-encoded: the form of the `x-amz-checksum-crc32c` header.
    public static func headerValue(_ crc: UInt32) -> String {
        [UInt8(crc >> 24), UInt8(crc >> 16 & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc & 0xff)].base64String
    }

    /// The CRC in an `x-amz-checksum-crc32c` header (base64 of 4 big-endian bytes); nil for anything else.
    public static func parseHeader(_ text: String) -> UInt32? {
        guard let bytes = Base64.decode(text.trimmingSpaces), bytes.count == 4 else { return nil }
        return bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// Eight hex digits, as the offsite manifest records it.
    public static func hex(_ crc: UInt32) -> String {
        [UInt8(crc >> 24), UInt8(crc >> 16 & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc & 0xff)].hexString
    }

    /// The CRC written as `hex(_:)` writes it; nil for anything else.
    public static func parseHex(_ text: String) -> UInt32? {
        guard text.utf8.count == 8, let bytes = Hex.decode(text) else { return nil }
        return bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }
}

/// GF(2) matrix arithmetic for combining reflected CRCs (after zlib's crc32_combine), for
/// CRC-32C and CRC-64/NVME alike.
enum CRCCombine {
    /// The reflected CRC of A‖B from crc(A), crc(B) and len(B) bytes.
    static func combine<CRC: FixedWidthInteger & UnsignedInteger>(_ crcA: CRC, _ crcB: CRC, length: Int64, reflectedPolynomial: CRC) -> CRC {
        guard length > 0 else { return crcA }
        let bits = CRC.bitWidth
        // odd: the operator for one zero bit; even: scratch.
        var odd = [CRC](repeating: 0, count: bits)
        var even = [CRC](repeating: 0, count: bits)
        odd[0] = reflectedPolynomial
        var row: CRC = 1
        for n in 1..<bits {
            odd[n] = row
            row <<= 1
        }
        square(&even, odd)  // two zero bits
        square(&odd, even)  // four zero bits
        var crc = crcA
        var len = length
        // Apply len zero bytes to crc(A): squares give 1, 2, 4... zero bytes.
        repeat {
            square(&even, odd)
            if len & 1 != 0 { crc = times(even, crc) }
            len >>= 1
            if len == 0 { break }
            square(&odd, even)
            if len & 1 != 0 { crc = times(odd, crc) }
            len >>= 1
        } while len != 0
        return crc ^ crcB
    }

    private static func times<CRC: FixedWidthInteger & UnsignedInteger>(_ matrix: [CRC], _ vector: CRC) -> CRC {
        var sum: CRC = 0
        var v = vector
        var i = 0
        while v != 0 {
            if v & 1 != 0 { sum ^= matrix[i] }
            v >>= 1
            i += 1
        }
        return sum
    }

    private static func square<CRC: FixedWidthInteger & UnsignedInteger>(_ result: inout [CRC], _ matrix: [CRC]) {
        for n in 0..<CRC.bitWidth { result[n] = times(matrix, matrix[n]) }
    }
}

extension String {
    var trimmingSpaces: String {
        String(decoding: Array(utf8).drop(while: { $0 == 32 }).reversed().drop(while: { $0 == 32 }).reversed(), as: UTF8.self)
    }
}
