import Hashing

#if canImport(Glibc)
    import Glibc
#endif

/// Which digests of a request body to compute.
public struct DigestKinds: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// For the signed payload (`x-amz-content-sha256`), x-amz-checksum-sha256 and the manifest.
    public static let sha256 = DigestKinds(rawValue: 1)
    /// For `Content-MD5`.
    public static let md5 = DigestKinds(rawValue: 2)
    /// For `x-amz-checksum-crc32c` (issue 17), through ISA-L.
    public static let crc32c = DigestKinds(rawValue: 4)
}

/// Digests of one request body, computed in one pass over the file region.
public struct PayloadDigests: Sendable {
    public var sha256: [UInt8]?
    public var md5: [UInt8]?
    public var crc32c: UInt32?

    public init(sha256: [UInt8]? = nil, md5: [UInt8]? = nil, crc32c: UInt32? = nil) {
        self.sha256 = sha256
        self.md5 = md5
        self.crc32c = crc32c
    }

    /// The kinds these digests include.
    public var kinds: DigestKinds {
        var k: DigestKinds = []
        if sha256 != nil { k.insert(.sha256) }
        if md5 != nil { k.insert(.md5) }
        if crc32c != nil { k.insert(.crc32c) }
        return k
    }
}

/// Reads file regions with `pread` into one reusable buffer and hashes them: the buffer is
/// allocated once per hasher, never per part.
public final class RegionHasher {
    private let sha = Digest(.sha256)
    private let md5 = Digest(.md5)
    private var buffer: UnsafeMutableRawBufferPointer
    /// Asked before each buffer: true stops the digest with `Failure.cancelled` (the digest pool's cancel).
    public var isCancelled: (() -> Bool)?

    public init(bufferSize: Int = 256 << 10) {
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 4096)
    }

    deinit { buffer.deallocate() }

    public enum Failure: Error {
        case read(errno: Int32)
        case shortFile
        case cancelled
    }

    /// Hashes `length` bytes from `offset` of what `read` produces (an encrypted file's bytes).
    public func digest(
        length: Int64, offset: Int64, kinds: DigestKinds, read: (Int64, UnsafeMutableRawBufferPointer) throws -> Int
    ) throws -> PayloadDigests {
        var state = Running(kinds: kinds, sha: sha, md5: md5)
        var done: Int64 = 0
        while done < length {
            if isCancelled?() == true { throw Failure.cancelled }
            let want = Int(min(Int64(buffer.count), length - done))
            let n = try read(offset + done, UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
            if n <= 0 { throw Failure.shortFile }
            state.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            done += Int64(n)
        }
        return state.finish()
    }

    /// Hashes `length` bytes from `offset` of a plain file.
    public func digest(fd: Int32, offset: Int64, length: Int64, kinds: DigestKinds) throws(Failure) -> PayloadDigests {
        var state = Running(kinds: kinds, sha: sha, md5: md5)
        var done: Int64 = 0
        while done < length {
            if isCancelled?() == true { throw .cancelled }
            let want = Int(min(Int64(buffer.count), length - done))
            let n = pread(fd, buffer.baseAddress, want, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .read(errno: errno)
            }
            if n == 0 { throw .shortFile }
            state.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            done += Int64(n)
        }
        return state.finish()
    }

    /// The digests under way over one region.
    private struct Running {
        let kinds: DigestKinds
        let sha: Digest
        let md5: Digest
        var crc = CRC32C.empty

        init(kinds: DigestKinds, sha: Digest, md5: Digest) {
            self.kinds = kinds
            self.sha = sha
            self.md5 = md5
            sha.reset()
            md5.reset()
        }

        mutating func update(_ chunk: UnsafeRawBufferPointer) {
            if kinds.contains(.sha256) { sha.update(chunk) }
            if kinds.contains(.md5) { md5.update(chunk) }
            if kinds.contains(.crc32c) { crc = CRC32C.update(crc, chunk) }
        }

        func finish() -> PayloadDigests {
            PayloadDigests(
                sha256: kinds.contains(.sha256) ? sha.finalize() : nil, md5: kinds.contains(.md5) ? md5.finalize() : nil,
                crc32c: kinds.contains(.crc32c) ? crc : nil)
        }
    }
}
