import Testing

@testable import Hashing

/// RFC 4648 section 10 vectors and round-trips for the text encodings.
@Suite struct EncodingTests {
    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ])
    func base64MatchesRFC4648(plain: String, encoded: String) {
        #expect(Array(plain.utf8).base64String == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test func base64RoundTripsEveryLengthAndByte() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        for length in 0...bytes.count {
            let slice = Array(bytes.prefix(length))
            #expect(Base64.decode(slice.base64String) == slice, "length \(length)")
        }
        let all = (0...255).map { UInt8($0) }
        #expect(Base64.decode(all.base64String) == all)
    }

    @Test func base64DecodesWithoutPadding() {
        #expect(Base64.decode("Zm9vYg") == Array("foob".utf8))
        #expect(Base64.decode("Zm9vYmE") == Array("fooba".utf8))
    }

    @Test func base64RejectsBadInput() {
        #expect(Base64.decode("Zm9v!") == nil)
        #expect(Base64.decode("Z") == nil, "one character cannot carry a byte")
        #expect(Base64.decode("Zm9vY") == nil)
        #expect(Base64.decode("Zg==Zg==") == nil, "data after padding")
        #expect(Base64.decode("Zg===") == nil, "three padding characters")
        #expect(Base64.decode("Zm9v\r\nYmFy") == Array("foobar".utf8), "line breaks are ignored")
    }

    @Test func md5Base64IsTheContentMD5Form() {
        // RFC 1864's Content-MD5 is base64 of the raw digest: MD5("") below.
        #expect(Digest.md5([]).base64String == "1B2M2Y8AsgTpgAmY7PhCfg==")
    }

    @Test func hexIsLowercaseAndRoundTrips() {
        let all = (0...255).map { UInt8($0) }
        let hex = all.hexString
        #expect(hex.utf8.count == 512)
        #expect(hex.hasPrefix("000102"))
        #expect(hex.hasSuffix("fdfeff"))
        #expect(Hex.decode(hex) == all)
        #expect([UInt8]().hexString == "")
        #expect(Hex.decode("") == [])
    }

    @Test func hexDecodeAcceptsUppercaseAndRejectsBadInput() {
        #expect(Hex.decode("DEADbeef") == [0xde, 0xad, 0xbe, 0xef])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }
}
