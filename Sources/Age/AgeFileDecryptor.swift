/// Decrypts an age file fed in order (any piece sizes), in constant memory: the header is parsed
/// and opened first, then every chunk is authenticated before its plaintext goes to `sink`.
/// The file's total size must be known (it is: the object's size), so the last chunk is known by
/// its position. Throws `AgeError` (or what `sink` throws).
public final class AgeStreamDecryptor {
    public let totalSize: Int64
    private let identities: [AgeIdentity]
    private let sink: (UnsafeRawBufferPointer) throws -> Void
    private var head: [UInt8] = []
    private var cipher: AgeChunkCipher?
    private var payloadStart: Int64 = 0
    private var consumed: Int64 = 0
    private var chunkIndex: Int64 = 0
    private var chunkCount: Int64 = 0
    private var fill = 0
    private let sealed = UnsafeMutableRawBufferPointer.allocate(byteCount: AgeStream.sealedChunkSize, alignment: 16)
    private let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: AgeStream.chunkSize, alignment: 16)
    /// Plaintext bytes released so far.
    public private(set) var plaintextSize: Int64 = 0

    public init(totalSize: Int64, identities: [AgeIdentity], sink: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.totalSize = totalSize
        self.identities = identities
        self.sink = sink
    }

    deinit {
        sealed.deallocate()
        plain.deallocate()
    }

    /// Whether the header was opened (a file key unwrapped and its MAC checked).
    public var headerOpened: Bool { cipher != nil }

    public func update(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        if cipher == nil {
            let take = try takeHeader(rest)
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
            if cipher == nil { return }
        }
        while !rest.isEmpty {
            guard chunkIndex < chunkCount else { throw AgeError.payload("data follows the end of the file") }
            let want = chunkLength(chunkIndex) - fill
            let take = min(want, rest.count)
            (sealed.baseAddress! + fill).copyMemory(from: rest.baseAddress!, byteCount: take)
            fill += take
            consumed += Int64(take)
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
            if fill == chunkLength(chunkIndex) { try openChunk() }
        }
    }

    /// Ends the file: everything must have arrived and authenticated. Returns the plaintext size.
    @discardableResult
    public func finish() throws -> Int64 {
        if cipher == nil {
            try parseHeader()
        }
        guard chunkIndex == chunkCount, fill == 0 else { throw AgeError.payload("the file ends inside chunk \(chunkIndex)") }
        return plaintextSize
    }

    private func chunkLength(_ index: Int64) -> Int {
        let offset = payloadStart + index * Int64(AgeStream.sealedChunkSize)
        return Int(min(Int64(AgeStream.sealedChunkSize), totalSize - offset))
    }

    /// Collects header bytes until the MAC line and the payload nonce are in; returns how many of `bytes` it used.
    private func takeHeader(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        var used = 0
        let chunk = 4096
        while used < bytes.count, cipher == nil {
            let n = min(chunk, bytes.count - used)
            head += UnsafeRawBufferPointer(rebasing: bytes[used..<(used + n)])
            used += n
            consumed += Int64(n)
            guard let end = macLineEnd() else {
                if head.count > AgeHeader.maxLength { throw AgeError.header("the header is longer than \(AgeHeader.maxLength) bytes") }
                continue
            }
            guard head.count >= end + AgeStream.nonceSize else { continue }
            // Header and nonce are in: what follows belongs to the payload.
            let extra = head.count - (end + AgeStream.nonceSize)
            head.removeLast(extra)
            used -= extra
            consumed -= Int64(extra)
            try parseHeader()
        }
        return used
    }

    /// The end (after its newline) of the first line starting with `---`, once it is complete.
    private func macLineEnd() -> Int? {
        var i = 0
        while i + 3 < head.count {
            if (i == 0 || head[i - 1] == 0x0a), head[i] == 0x2d, head[i + 1] == 0x2d, head[i + 2] == 0x2d {
                guard let nl = head[(i + 3)...].firstIndex(of: 0x0a) else { return nil }
                return nl + 1
            }
            guard let nl = head[i...].firstIndex(of: 0x0a) else { return nil }
            i = nl + 1
        }
        return nil
    }

    private func parseHeader() throws {
        let parsed = head.withUnsafeBytes { AgeHeader.parse($0) }
        let header: AgeHeader
        let end: Int
        switch parsed {
        case .success(let (h, e)):
            header = h
            end = e
        case .failure(let error): throw error
        }
        let fileKey: [UInt8]
        switch header.unwrap(with: identities) {
        case .success(let key): fileKey = key
        case .failure(let e): throw e
        }
        guard head.count >= end + AgeStream.nonceSize else { throw AgeError.header("the file ends before its payload nonce") }
        guard let cipher = AgeChunkCipher(fileKey: fileKey, payloadNonce: Array(head[end..<(end + AgeStream.nonceSize)])) else {
            throw AgeError.unavailable("HKDF failed")
        }
        payloadStart = Int64(end + AgeStream.nonceSize)
        let sealedTotal = totalSize - payloadStart
        guard sealedTotal > 0 else { throw AgeError.payload("the payload has no chunk") }
        chunkCount = (sealedTotal + Int64(AgeStream.sealedChunkSize) - 1) / Int64(AgeStream.sealedChunkSize)
        self.cipher = cipher
        head = []
    }

    /// Opens the full chunk in the buffer. A full chunk may be the last (sealed so) or not; a
    /// shorter one must be the last. What authenticates is released, the framing error after it.
    private func openChunk() throws {
        guard let cipher else { return }
        let index = chunkIndex
        let length = fill
        let last = index == chunkCount - 1
        guard length >= AgeStream.tagSize else { throw AgeError.payload("chunk \(index) is shorter than its tag") }
        let textLength = length - AgeStream.tagSize
        if last && textLength == 0 && index > 0 { throw AgeError.payload("an empty last chunk follows a full one") }
        var sealedLast = last
        var opened = false
        if length == AgeStream.sealedChunkSize {
            opened = cipher.open(index: index, last: false, input: sealed.baseAddress!, length: textLength, output: plain.baseAddress!)
            sealedLast = !opened
        }
        if !opened {
            opened = cipher.open(index: index, last: true, input: sealed.baseAddress!, length: textLength, output: plain.baseAddress!)
        }
        guard opened else { throw AgeError.payload("chunk \(index) failed authentication") }
        try sink(UnsafeRawBufferPointer(rebasing: plain[0..<textLength]))
        plaintextSize += Int64(textLength)
        if sealedLast && !last { throw AgeError.payload("data follows the last chunk (chunk \(index))") }
        if last && !sealedLast { throw AgeError.payload("the file ends without its last chunk (truncated)") }
        fill = 0
        chunkIndex += 1
    }
}

/// Decrypts a whole age file read through `read` (from any offset), in order.
public final class AgeFileDecryptor {
    private let read: (_ offset: Int64, _ buffer: UnsafeMutableRawBufferPointer) throws -> Int
    public let totalSize: Int64

    public init(totalSize: Int64, read: @escaping (_ offset: Int64, _ buffer: UnsafeMutableRawBufferPointer) throws -> Int) {
        self.totalSize = totalSize
        self.read = read
    }

    /// Opens the header with `identities` and streams the plaintext to `sink`. Returns the plaintext size.
    @discardableResult
    public func decrypt(identities: [AgeIdentity], sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws -> Int64 {
        let stream = AgeStreamDecryptor(totalSize: totalSize, identities: identities, sink: sink)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while offset < totalSize {
            let want = Int(min(Int64(buffer.count), totalSize - offset))
            let n = try read(offset, UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
            if n <= 0 { break }
            try stream.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += Int64(n)
        }
        return try stream.finish()
    }
}
