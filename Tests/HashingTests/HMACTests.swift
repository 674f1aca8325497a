import Testing

@testable import Hashing

/// RFC 4231 section 4 test cases for HMAC-SHA-256.
@Suite struct HMACTests {
    static let largerThanBlockKey = [UInt8](repeating: 0xaa, count: 131)

    static let rfc4231: [(name: String, key: [UInt8], data: [UInt8], expected: String)] = [
        (
            "case 1", [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        ),
        (
            "case 2", Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        ),
        (
            "case 3", [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        ),
        (
            "case 4", Array(1...25), [UInt8](repeating: 0xcd, count: 50),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        ),
        (
            "case 6", largerThanBlockKey, Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        ),
        (
            "case 7", largerThanBlockKey,
            Array(
                ("This is a test using a larger than block-size key and a larger than block-size data. "
                    + "The key needs to be hashed before being used by the HMAC algorithm.").utf8),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        ),
    ]

    @Test func hmacSHA256MatchesRFC4231() {
        for testCase in Self.rfc4231 {
            #expect(
                HMAC.sha256(key: testCase.key, data: testCase.data).hexString == testCase.expected, "\(testCase.name)")
        }
    }

    /// Case 5 checks only the first 128 bits of the output.
    @Test func hmacSHA256TruncatedMatchesRFC4231Case5() {
        let mac = HMAC.sha256(key: [UInt8](repeating: 0x0c, count: 20), data: Array("Test With Truncation".utf8))
        #expect(mac.count == 32)
        #expect(mac.prefix(16).hexString == "a3b6167473100ee06e0c796c2955552b")
    }

    @Test func stringDataIsHashedAsUTF8() {
        #expect(
            HMAC.sha256(key: Array("Jefe".utf8), data: "what do ya want for nothing?")
                == HMAC.sha256(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8)))
    }

    /// Empty buffers have no base address; the MAC must still be the real one, not zeros.
    @Test func emptyKeyAndEmptyDataGiveTheRealMAC() {
        #expect(
            HMAC.sha256(key: [], data: [UInt8]()).hexString
                == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
        #expect(
            HMAC.sha256(key: [], data: "abc").hexString
                == "fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351")
        #expect(
            HMAC.sha256(key: Array("key".utf8), data: [UInt8]()).hexString
                == "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0")
    }
}
