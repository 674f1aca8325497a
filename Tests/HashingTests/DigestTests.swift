import Testing

@testable import Hashing

/// Known answers from FIPS 180-2 (SHA-256) and RFC 1321 appendix A.5 (MD5).
@Suite struct DigestTests {
    @Test func sha256MatchesFIPS180KnownAnswers() {
        #expect(Digest.sha256("abc").hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            Digest.sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").hexString
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            Digest.sha256([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)).hexString
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func sha256OfEmptyInputIsTheEmptyPayloadHash() {
        let expected = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        #expect(Digest.sha256([UInt8]()).hexString == expected)
        #expect(Digest.sha256("").hexString == expected)
        let digest = Digest(.sha256)
        digest.update(UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(digest.finalize().hexString == expected)
    }

    @Test(arguments: [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
        (String(repeating: "1234567890", count: 8), "57edf4a22be3c955ac49da2e2107b67a"),
    ])
    func md5MatchesRFC1321TestSuite(input: String, expected: String) {
        #expect(Digest.md5(Array(input.utf8)).hexString == expected)
        let digest = Digest(.md5)
        digest.update(input)
        #expect(digest.finalize().hexString == expected)
    }

    @Test func sha1MatchesFIPS180KnownAnswer() {
        let digest = Digest(.sha1)
        digest.update("abc")
        #expect(digest.finalize().hexString == "a9993e364706816aba3e25717850c26c9cd0d89d")
    }

    @Test func outputLengthMatchesTheDigest() {
        for algorithm in [Digest.Algorithm.sha256, .md5, .sha1] {
            let digest = Digest(algorithm)
            digest.update("x")
            #expect(digest.finalize().count == algorithm.outputLength)
        }
    }

    /// Chunk sizes straddle the 64-byte block boundary and a page.
    @Test(arguments: [1, 7, 63, 64, 65, 4097])
    func streamedInputEqualsOneShot(chunkSize: Int) {
        let buffer = (0..<100_003).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        for algorithm in [Digest.Algorithm.sha256, .md5, .sha1] {
            let oneShot = Digest(algorithm)
            oneShot.update(buffer)
            let expected = oneShot.finalize()

            let streamed = Digest(algorithm)
            buffer.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let end = min(offset + chunkSize, raw.count)
                    streamed.update(UnsafeRawBufferPointer(rebasing: raw[offset..<end]))
                    offset = end
                }
            }
            #expect(streamed.finalize() == expected, "\(algorithm) in \(chunkSize)-byte chunks")
        }
    }

    @Test func finalizeResetsForTheNextMessage() {
        let digest = Digest(.sha256)
        digest.update("some earlier part")
        _ = digest.finalize()
        digest.update("abc")
        #expect(digest.finalize() == Digest.sha256("abc"))
    }

    @Test func resetDiscardsFedInput() {
        let digest = Digest(.md5)
        digest.update("discarded")
        digest.reset()
        digest.update("abc")
        #expect(digest.finalize().hexString == "900150983cd24fb0d6963f7d28e17f72")
    }

    @Test func stringUpdateHashesUTF8Bytes() {
        let text = "ሴ naïve ✓"
        let digest = Digest(.sha256)
        digest.update(text)
        #expect(digest.finalize() == Digest.sha256(Array(text.utf8)))
    }
}
