/// Decrypts an age file read in order from any source, in constant memory: the header is parsed
/// and opened first, then every chunk is authenticated before its plaintext is handed on.
/// The total size of the file must be known (it is: the object's size), so the last chunk is
/// known by its position.
public final class AgeFileDecryptor {
    public enum Source {
        /// Fills the buffer from the file's byte `offset`; returns the count read (0 at the end).
        case reader((_ offset: Int64, _ buffer: UnsafeMutableRawBufferPointer) throws -> Int)
    }

    private let read: (_ offset: Int64, _ buffer: UnsafeMutableRawBufferPointer) throws -> Int
    public let totalSize: Int64

    public init(totalSize: Int64, read: @escaping (_ offset: Int64, _ buffer: UnsafeMutableRawBufferPointer) throws -> Int) {
        self.totalSize = totalSize
        self.read = read
    }

    /// Opens the header with `identities` and streams the plaintext to `sink`, chunk by chunk.
    /// Returns the plaintext size. Throws `AgeError` (or what `read`/`sink` throw).
    @discardableResult
    public func decrypt(identities: [AgeIdentity], sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Int64 {
        // The header: read up to its bound (or the whole file when smaller).
        let headWant = Int(min(totalSize, Int64(AgeHeader.maxLength + AgeStream.nonceSize)))
        let head = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, headWant), alignment: 16)
        defer { head.deallocate() }
        let headCount = try readFully(offset: 0, into: UnsafeMutableRawBufferPointer(rebasing: head[0..<headWant]))
        let parsed = AgeHeader.parse(UnsafeRawBufferPointer(rebasing: head[0..<headCount]))
        guard case .success(let (header, payloadOffset)) = parsed else {
            if case .failure(let e) = parsed { throw e }
            throw AgeError.header("unreadable")
        }
        let fileKey: [UInt8]
        switch header.unwrap(with: identities) {
        case .success(let key): fileKey = key
        case .failure(let e): throw e
        }
        guard totalSize - Int64(payloadOffset) >= Int64(AgeStream.nonceSize) else { throw AgeError.header("the file ends before its payload nonce") }
        let nonce = Array(UnsafeRawBufferPointer(rebasing: head[payloadOffset..<(payloadOffset + AgeStream.nonceSize)]))
        guard let cipher = AgeChunkCipher(fileKey: fileKey, payloadNonce: nonce) else { throw AgeError.unavailable("HKDF failed") }
        return try decryptPayload(cipher: cipher, from: Int64(payloadOffset + AgeStream.nonceSize), sink: sink)
    }

    private func decryptPayload(cipher: AgeChunkCipher, from start: Int64, sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Int64 {
        let sealedTotal = totalSize - start
        guard sealedTotal > 0 else { throw AgeError.payload("the payload has no chunk") }
        let chunks = (sealedTotal + Int64(AgeStream.sealedChunkSize) - 1) / Int64(AgeStream.sealedChunkSize)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: AgeStream.sealedChunkSize, alignment: 16)
        let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: AgeStream.chunkSize, alignment: 16)
        defer {
            buffer.deallocate()
            plain.deallocate()
        }
        var plaintext: Int64 = 0
        for index in 0..<chunks {
            let offset = start + index * Int64(AgeStream.sealedChunkSize)
            let length = Int(min(Int64(AgeStream.sealedChunkSize), totalSize - offset))
            let last = index == chunks - 1
            guard length >= AgeStream.tagSize else { throw AgeError.payload("chunk \(index) is shorter than its tag") }
            let got = try readFully(offset: offset, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length]))
            guard got == length else { throw AgeError.payload("the file ends inside chunk \(index)") }
            let textLength = length - AgeStream.tagSize
            if last && textLength == 0 && index > 0 { throw AgeError.payload("an empty last chunk follows a full one") }
            // A full chunk may be the last one (sealed so) or not; a shorter one must be the last.
            // Whatever authenticates is released, and the framing error reported after it.
            var sealedLast = last
            var opened = false
            if length == AgeStream.sealedChunkSize {
                opened = cipher.open(index: index, last: false, input: buffer.baseAddress!, length: textLength, output: plain.baseAddress!)
                sealedLast = !opened
            }
            if !opened {
                opened = cipher.open(index: index, last: true, input: buffer.baseAddress!, length: textLength, output: plain.baseAddress!)
            }
            guard opened else { throw AgeError.payload("chunk \(index) failed authentication") }
            try sink(UnsafeRawBufferPointer(rebasing: plain[0..<textLength]))
            if sealedLast && !last { throw AgeError.payload("data follows the last chunk (chunk \(index))") }
            if last && !sealedLast { throw AgeError.payload("the file ends without its last chunk (truncated)") }
            plaintext += Int64(textLength)
        }
        return plaintext
    }

    private func readFully(offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = try read(offset + Int64(done), UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            if n <= 0 { break }
            done += n
        }
        return done
    }
}
