import Testing
@testable import Hashing

@Test func sha256OfABC() {
    #expect(Digest.sha256("abc").hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
}
