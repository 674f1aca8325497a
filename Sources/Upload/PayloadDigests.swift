import Hashing

#if canImport(Glibc)
    import Glibc
#endif

/// Digests of one request body, computed in one pass over the file region.
public struct PayloadDigests: Sendable {
    public var sha256: [UInt8]
    public var md5: [UInt8]?
}

/// Reads file regions with `pread` into one reusable buffer and hashes them: the buffer is
/// allocated once per hasher, never per part.
public final class RegionHasher {
    private let sha = Digest(.sha256)
    private let md5 = Digest(.md5)
    private var buffer: UnsafeMutableRawBufferPointer

    public init(bufferSize: Int = 1 << 20) {
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 4096)
    }

    deinit { buffer.deallocate() }

    public enum Failure: Error {
        case read(errno: Int32)
        case shortFile
    }

    /// Hashes `length` bytes from `offset` of what `read` produces (an encrypted file's bytes).
    public func digest(
        length: Int64, offset: Int64, withMD5: Bool, read: (Int64, UnsafeMutableRawBufferPointer) throws -> Int
    ) throws -> PayloadDigests {
        var done: Int64 = 0
        while done < length {
            let want = Int(min(Int64(buffer.count), length - done))
            let n = try read(offset + done, UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
            if n <= 0 { throw Failure.shortFile }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            sha.update(chunk)
            if withMD5 { md5.update(chunk) }
            done += Int64(n)
        }
        return PayloadDigests(sha256: sha.finalize(), md5: withMD5 ? md5.finalize() : nil)
    }

    /// Hashes `length` bytes from `offset`. `wholeFile`, when given, is fed the same bytes.
    public func digest(fd: Int32, offset: Int64, length: Int64, withMD5: Bool, wholeFile: Digest? = nil) throws(Failure) -> PayloadDigests {
        var done: Int64 = 0
        while done < length {
            let want = Int(min(Int64(buffer.count), length - done))
            let n = pread(fd, buffer.baseAddress, want, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .read(errno: errno)
            }
            if n == 0 { throw .shortFile }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            sha.update(chunk)
            if withMD5 { md5.update(chunk) }
            wholeFile?.update(chunk)
            done += Int64(n)
        }
        return PayloadDigests(sha256: sha.finalize(), md5: withMD5 ? md5.finalize() : nil)
    }
}
