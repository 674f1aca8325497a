/// Produces any byte range of an age file from its plaintext, without holding more than one
/// chunk: header and payload nonce as given, then each 64 KiB chunk sealed on demand from the
/// plaintext read at the matching offset. The same file key, header and nonce over the same
/// plaintext give the same bytes, so parts can be re-created after an interruption.
public final class AgeFileEncryptor {
    public let header: [UInt8]
    public let nonce: [UInt8]
    public let plaintextSize: Int64
    /// Bytes of the whole age file.
    public let size: Int64
    private let cipher: AgeChunkCipher
    private let readPlain: (_ offset: Int64, _ buffer: UnsafeMutableRawBufferPointer) throws -> Int
    private let sealed: UnsafeMutableRawBufferPointer
    private var sealedIndex: Int64 = -1
    private let chunks: Int64

    /// Why the plaintext could not be read in full.
    public struct ShortRead: Error {}

    public init?(
        fileKey: [UInt8], header: [UInt8], nonce: [UInt8], plaintextSize: Int64,
        readPlain: @escaping (_ offset: Int64, _ buffer: UnsafeMutableRawBufferPointer) throws -> Int
    ) {
        guard let cipher = AgeChunkCipher(fileKey: fileKey, payloadNonce: nonce) else { return nil }
        self.cipher = cipher
        self.header = header
        self.nonce = nonce
        self.plaintextSize = plaintextSize
        self.size = Int64(header.count) + AgeStream.payloadSize(plaintext: plaintextSize)
        self.readPlain = readPlain
        self.chunks = AgeStream.chunkCount(plaintext: plaintextSize)
        sealed = UnsafeMutableRawBufferPointer.allocate(byteCount: AgeStream.sealedChunkSize, alignment: 16)
    }

    deinit { sealed.deallocate() }

    /// Fills `buffer` with the file's bytes from `offset`; returns the count (0 at the end).
    public func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        var position = offset
        let payloadStart = Int64(header.count + AgeStream.nonceSize)
        while done < buffer.count, position < size {
            let out = UnsafeMutableRawBufferPointer(rebasing: buffer[done...])
            let n: Int
            if position < Int64(header.count) {
                n = min(out.count, header.count - Int(position))
                header.withUnsafeBytes { out.baseAddress!.copyMemory(from: $0.baseAddress! + Int(position), byteCount: n) }
            } else if position < payloadStart {
                let at = Int(position) - header.count
                n = min(out.count, AgeStream.nonceSize - at)
                nonce.withUnsafeBytes { out.baseAddress!.copyMemory(from: $0.baseAddress! + at, byteCount: n) }
            } else {
                let relative = position - payloadStart
                let index = relative / Int64(AgeStream.sealedChunkSize)
                let within = Int(relative % Int64(AgeStream.sealedChunkSize))
                let length = try sealChunk(index)
                n = min(out.count, length - within)
                out.baseAddress!.copyMemory(from: sealed.baseAddress! + within, byteCount: n)
            }
            done += n
            position += Int64(n)
        }
        return done
    }

    /// Seals chunk `index` into the scratch buffer (kept for the next read); returns its sealed length.
    private func sealChunk(_ index: Int64) throws -> Int {
        let plainOffset = index * Int64(AgeStream.chunkSize)
        let plainLength = Int(min(Int64(AgeStream.chunkSize), plaintextSize - plainOffset))
        if sealedIndex == index { return plainLength + AgeStream.tagSize }
        sealedIndex = -1
        var got = 0
        while got < plainLength {
            let n = try readPlain(plainOffset + Int64(got), UnsafeMutableRawBufferPointer(rebasing: sealed[got..<plainLength]))
            if n <= 0 { throw ShortRead() }
            got += n
        }
        guard cipher.seal(index: index, last: index == chunks - 1, input: sealed.baseAddress, length: plainLength, output: sealed.baseAddress!) else {
            throw AgeError.unavailable("ChaCha20-Poly1305 failed")
        }
        sealedIndex = index
        return plainLength + AgeStream.tagSize
    }
}
