import Age
import HTTPTransport

#if canImport(Glibc)
    import Glibc
#endif

/// The bytes an upload stores for one file, read from its open descriptor: the file itself, or
/// its age encryption made on demand (each 64 KiB chunk sealed from `pread` of the plaintext).
/// Every request body and every digest of a region comes from here, so what is hashed is what is sent.
struct StoredBytes {
    let fd: Int32
    /// Bytes of the stored object.
    let size: Int64
    private let age: (fileKey: [UInt8], header: [UInt8], nonce: [UInt8], plaintextSize: Int64)?
    /// The engine's plaintext buffer for whole-chunk reads (one thread uses it at a time).
    private let scratch: AgeScratch?

    var isEncrypted: Bool { age != nil }

    /// The plain file.
    init(plain fd: Int32, size: Int64) {
        self.fd = fd
        self.size = size
        self.age = nil
        self.scratch = nil
    }

    /// The age file of `fd`'s plaintext under the journal's key, header and nonce.
    init?(encrypted fd: Int32, plaintextSize: Int64, encryption: JournalEntry.Encryption, scratch: AgeScratch) {
        guard let key = encryption.fileKey, let header = encryption.header, let nonce = encryption.nonce else { return nil }
        self.fd = fd
        self.scratch = scratch
        self.age = (key, header, nonce, plaintextSize)
        self.size = Int64(header.count) + AgeStream.payloadSize(plaintext: plaintextSize)
        guard size == encryption.storedSize else { return nil }
    }

    /// The request body for `length` bytes from `offset`; `tags` (recorded when the region was
    /// hashed) spare Poly1305 a second pass.
    func body(offset: Int64, length: Int64, tags: AgeTagBook? = nil) -> RequestBody {
        guard let encryptor = makeEncryptor(scratch: scratch) else { return .file(fd: fd, offset: offset, length: length) }
        encryptor.tagBook = tags
        encryptor.recordsTags = false
        return .source(EncryptedRegion(encryptor: encryptor, offset: offset, length: length))
    }

    /// A reader of the stored bytes from any offset (for hashing); an encrypted file's chunk tags go to `tags`.
    /// `onAnotherThread`: the reader runs on a digest-pool worker, so it leaves the engine's
    /// scratch buffer alone (each chunk is sealed in the encryptor's own 64 KiB buffer).
    func reader(recording tags: AgeTagBook? = nil, onAnotherThread: Bool = false) -> (Int64, UnsafeMutableRawBufferPointer) throws -> Int {
        if let encryptor = makeEncryptor(scratch: onAnotherThread ? nil : scratch) {
            encryptor.tagBook = tags
            encryptor.recordsTags = true
            return { offset, buffer in try encryptor.read(at: offset, into: buffer) }
        }
        let fd = self.fd
        return { offset, buffer in try Self.pread(fd, offset, buffer) }
    }

    private func makeEncryptor(scratch: AgeScratch?) -> AgeFileEncryptor? {
        guard let age else { return nil }
        let fd = self.fd
        return AgeFileEncryptor(fileKey: age.fileKey, header: age.header, nonce: age.nonce, plaintextSize: age.plaintextSize, scratch: scratch) { offset, buffer in
            try Self.pread(fd, offset, buffer)
        }
    }

    struct ReadFailure: Error, CustomStringConvertible {
        var errno: Int32
        var description: String { "reading the file failed: \(String(cString: strerror(errno)))" }
    }

    static func pread(_ fd: Int32, _ offset: Int64, _ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
            if n >= 0 { return n }
            if errno != EINTR { throw ReadFailure(errno: errno) }
        }
    }
}

/// One request body's region of an age file, sealed as libcurl asks for it.
final class EncryptedRegion: BodySource, @unchecked Sendable {
    private let encryptor: AgeFileEncryptor
    private let offset: Int64
    let length: Int64

    init(encryptor: AgeFileEncryptor, offset: Int64, length: Int64) {
        self.encryptor = encryptor
        self.offset = offset
        self.length = length
    }

    func read(at position: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let want = Int(min(Int64(buffer.count), length - position))
        guard want > 0 else { return 0 }
        do {
            return try encryptor.read(at: offset + position, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
        } catch is AgeFileEncryptor.ShortRead {
            throw StoredBytes.ShortFile()
        }
    }
}

extension StoredBytes {
    struct ShortFile: Error, CustomStringConvertible {
        var description: String { "the file is shorter than expected (it changed while being sent)" }
    }
}
