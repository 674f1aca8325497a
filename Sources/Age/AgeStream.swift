/// The STREAM payload of age v1: a 16-byte nonce, then 64 KiB plaintext chunks each sealed with
/// ChaCha20-Poly1305 under the payload key (HKDF of the file key and the nonce) and a nonce of
/// the chunk's index (11 bytes, big-endian) plus a last-chunk flag. Every chunk is sealed on its
/// own, so any byte range of the ciphertext can be produced from the plaintext around it.
public enum AgeStream {
    public static let chunkSize = 64 * 1024
    public static let tagSize = 16
    public static let sealedChunkSize = chunkSize + tagSize
    public static let nonceSize = 16

    /// Chunks of a plaintext of `size` bytes (an empty payload is one empty last chunk).
    public static func chunkCount(plaintext size: Int64) -> Int64 {
        max(1, (size + Int64(chunkSize) - 1) / Int64(chunkSize))
    }

    /// Bytes of the STREAM payload (nonce, sealed chunks) for `size` plaintext bytes.
    public static func payloadSize(plaintext size: Int64) -> Int64 {
        Int64(nonceSize) + size + chunkCount(plaintext: size) * Int64(tagSize)
    }

    /// The plaintext size of a payload of `size` bytes; nil when no plaintext gives it.
    public static func plaintextSize(payload size: Int64) -> Int64? {
        let sealed = size - Int64(nonceSize)
        guard sealed >= Int64(tagSize) else { return nil }
        let chunks = (sealed + Int64(sealedChunkSize) - 1) / Int64(sealedChunkSize)
        let plain = sealed - chunks * Int64(tagSize)
        guard plain >= 0, chunkCount(plaintext: plain) == chunks else { return nil }
        return plain
    }

    public static func payloadKey(fileKey: [UInt8], nonce: [UInt8]) -> [UInt8]? {
        AgePrimitives.hkdf(ikm: fileKey, salt: nonce, info: "payload")
    }

    static func chunkNonce(_ index: Int64, last: Bool, into nonce: inout [UInt8]) {
        var n = UInt64(index)
        for i in stride(from: 10, through: 3, by: -1) {
            nonce[i] = UInt8(n & 0xff)
            n >>= 8
        }
        nonce[0] = 0
        nonce[1] = 0
        nonce[2] = 0
        nonce[11] = last ? 1 : 0
    }
}

/// The tags of chunks sealed while a region was hashed, so sending the same region re-creates its
/// ciphertext with ChaCha20 alone (Poly1305 is not run twice over the same bytes).
public final class AgeTagBook {
    public typealias Tag = (UInt64, UInt64)
    var tags: [Int64: Tag] = [:]
    public init() {}
    public var count: Int { tags.count }

    func record(_ index: Int64, from tag: UnsafeRawPointer) {
        tags[index] = tag.loadUnaligned(as: Tag.self)
    }
}

/// Seals and opens single chunks of one payload (one thread at a time).
public final class AgeChunkCipher {
    private let key: [UInt8]
    private var nonce = [UInt8](repeating: 0, count: 12)
    private let aead = ChaChaPoly()

    public init?(fileKey: [UInt8], payloadNonce: [UInt8]) {
        guard payloadNonce.count == AgeStream.nonceSize, let key = AgeStream.payloadKey(fileKey: fileKey, nonce: payloadNonce) else { return nil }
        self.key = key
    }

    /// Seals chunk `index` (`length` plaintext bytes at `input`) into `output` (length + 16 bytes).
    public func seal(index: Int64, last: Bool, input: UnsafeRawPointer?, length: Int, output: UnsafeMutableRawPointer) -> Bool {
        AgeStream.chunkNonce(index, last: last, into: &nonce)
        return key.withUnsafeBufferPointer { k in nonce.withUnsafeBufferPointer { n in aead.seal(key: k.baseAddress!, nonce: n.baseAddress!, input: input, length: length, output: output) } }
    }

    /// Re-creates sealed chunk `index` whose tag is known: ciphertext by ChaCha20 alone, then the tag.
    public func reseal(index: Int64, last: Bool, input: UnsafeRawPointer, length: Int, tag: AgeTagBook.Tag, output: UnsafeMutableRawPointer) -> Bool {
        AgeStream.chunkNonce(index, last: last, into: &nonce)
        let ok = key.withUnsafeBufferPointer { k in
            nonce.withUnsafeBufferPointer { n in aead.encryptOnly(key: k.baseAddress!, nonce: n.baseAddress!, input: input, length: length, output: output) }
        }
        withUnsafeBytes(of: tag) { (output + length).copyMemory(from: $0.baseAddress!, byteCount: AgeStream.tagSize) }
        return ok
    }

    /// Opens chunk `index` (`length` ciphertext bytes followed by the tag at `input`) into `output`.
    public func open(index: Int64, last: Bool, input: UnsafeRawPointer, length: Int, output: UnsafeMutableRawPointer) -> Bool {
        AgeStream.chunkNonce(index, last: last, into: &nonce)
        return key.withUnsafeBufferPointer { k in nonce.withUnsafeBufferPointer { n in aead.open(key: k.baseAddress!, nonce: n.baseAddress!, input: input, length: length, output: output) } }
    }
}
