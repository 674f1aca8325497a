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

    private let scratch: AgeScratch?
    /// Tags to record (while hashing) or to reuse (while sending the same bytes).
    public var tagBook: AgeTagBook?
    /// True: fill `tagBook`; false: take the tags it holds.
    public var recordsTags = true

    /// Why the plaintext could not be read in full.
    public struct ShortRead: Error {}

    /// `scratch`, when given, lets reads of whole chunks fetch their plaintext in one call and seal
    /// it straight into the caller's buffer (shared by the encryptors of one thread).
    public init?(
        fileKey: [UInt8], header: [UInt8], nonce: [UInt8], plaintextSize: Int64, scratch: AgeScratch? = nil,
        readPlain: @escaping (_ offset: Int64, _ buffer: UnsafeMutableRawBufferPointer) throws -> Int
    ) {
        self.scratch = scratch
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
            } else if let whole = try sealWholeChunks(at: position - payloadStart, into: out), whole > 0 {
                n = whole
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

    /// When `relative` (an offset in the sealed chunks) starts a chunk and `out` holds whole chunks:
    /// reads their plaintext at once and seals each straight into `out`. Returns the bytes written,
    /// nil when the slow path must do it.
    private func sealWholeChunks(at relative: Int64, into out: UnsafeMutableRawBufferPointer) throws -> Int? {
        guard let scratch, relative % Int64(AgeStream.sealedChunkSize) == 0 else { return nil }
        let first = relative / Int64(AgeStream.sealedChunkSize)
        var count: Int64 = 0
        var plainBytes = 0
        var sealedBytes = 0
        while first + count < chunks {
            let length = plainLength(first + count)
            guard sealedBytes + length + AgeStream.tagSize <= out.count, plainBytes + length <= scratch.buffer.count else { break }
            plainBytes += length
            sealedBytes += length + AgeStream.tagSize
            count += 1
        }
        guard count > 0 else { return nil }
        let plainOffset = first * Int64(AgeStream.chunkSize)
        var got = 0
        while got < plainBytes {
            let n = try readPlain(plainOffset + Int64(got), UnsafeMutableRawBufferPointer(rebasing: scratch.buffer[got..<plainBytes]))
            if n <= 0 { throw ShortRead() }
            got += n
        }
        var input = 0
        var output = 0
        for index in first..<(first + count) {
            let length = plainLength(index)
            try seal(index, input: scratch.buffer.baseAddress! + input, length: length, output: out.baseAddress! + output)
            input += length
            output += length + AgeStream.tagSize
        }
        return output
    }

    /// Seals one chunk, or re-creates it from its recorded tag.
    private func seal(_ index: Int64, input: UnsafeRawPointer, length: Int, output: UnsafeMutableRawPointer) throws {
        let last = index == chunks - 1
        if let book = tagBook, !recordsTags, let tag = book.tags[index] {
            guard cipher.reseal(index: index, last: last, input: input, length: length, tag: tag, output: output) else {
                throw AgeError.unavailable("ChaCha20 failed")
            }
            return
        }
        guard cipher.seal(index: index, last: last, input: input, length: length, output: output) else {
            throw AgeError.unavailable("ChaCha20-Poly1305 failed")
        }
        if let book = tagBook, recordsTags { book.record(index, from: output + length) }
    }

    private func plainLength(_ index: Int64) -> Int {
        Int(min(Int64(AgeStream.chunkSize), plaintextSize - index * Int64(AgeStream.chunkSize)))
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
        try seal(index, input: sealed.baseAddress!, length: plainLength, output: sealed.baseAddress!)
        sealedIndex = index
        return plainLength + AgeStream.tagSize
    }
}

/// A plaintext buffer the encryptors of one thread share for whole-chunk reads.
public final class AgeScratch {
    let buffer: UnsafeMutableRawBufferPointer

    public init(chunks: Int = 8) {
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, chunks) * AgeStream.chunkSize, alignment: 4096)
    }

    deinit { buffer.deallocate() }
}
