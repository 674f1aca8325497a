import Age
import AgentSupport
import HTTPTransport
import S3
import Vault

#if canImport(Glibc)
    import Glibc
#endif

/// Reading an encrypted backup's content: the identities that open it, the checks made before
/// anything is written, and the decryption of each ranged GET as it arrives (`AgeRangePlan`,
/// `AgeFileKeys`, `AgeRangeReceiver`).
public enum RestoreDecryption {
    /// The identities in an age identity file (`agent keygen` / `age-keygen` output). Errors name
    /// the file and line, never a secret.
    public static func loadIdentities(_ path: String) throws(AgentError) -> [AgeIdentity] {
        guard let text = AtomicFile.read(path, limit: 1 << 20) else {
            throw AgentError(
                .invalidConfig, "cannot read the identity file \(path): \(String(cString: strerror(errno)))",
                hint: "pass --identity with the file `agent keygen --out` (or age-keygen) wrote, readable by this user")
        }
        switch AgeKeyList.identities(text) {
        case .success(let ids): return ids
        case .failure(let e):
            throw AgentError(
                .invalidConfig, "the identity file \(path)\(e.line > 0 ? ":\(e.line)" : ""): \(e.message)",
                hint: "pass the file `agent keygen --out` or age-keygen wrote (AGE-SECRET-KEY-1… lines, # comments)")
        }
    }

    /// IDENTITY_REQUIRED when an encrypted backup's content is asked for without an identity.
    public static func requireIdentities(_ identities: [AgeIdentity]?, manifest: OffsiteManifest, vault: String, what: String) throws(AgentError) -> [AgeIdentity] {
        if let identities, !identities.isEmpty { return identities }
        let recipients = Set(manifest.files.flatMap { $0.encryption?.recipients ?? [] }).sorted()
        throw AgentError(
            .identityRequired,
            "backup \(manifest.backup) in vault \(vault) is encrypted (age, to \(recipients.joined(separator: ", "))); \(what) needs the identity that opens it; nothing was written",
            hint: "pass --identity FILE (the AGE-SECRET-KEY-1… file `agent keygen --out` made for one of those recipients), or set identity_file for vault \(vault)")
    }

    static func mismatch(_ manifest: OffsiteManifest, path: String, vault: String) -> AgentError {
        let recipients = Set(manifest.files.flatMap { $0.encryption?.recipients ?? [] }).sorted()
        return AgentError(
            .identityMismatch, "no given identity opens \(path) of backup \(manifest.backup) in vault \(vault); it is encrypted to \(recipients.joined(separator: ", "))",
            hint: "pass --identity with the identity file of one of those recipients (`age-keygen -y FILE` prints a file's recipient)")
    }

    /// Before anything is written: the first encrypted file's header must open with `identities`
    /// (IDENTITY_MISMATCH otherwise). Reads at most its first 64 KiB.
    static func probe(_ manifest: OffsiteManifest, identities: [AgeIdentity], session: VaultSession) throws(AgentError) {
        guard let file = manifest.files.first(where: { $0.encryption != nil }) else { return }
        let key = file.key.isEmpty ? session.backupPrefix(manifest.backup) + file.path : file.key
        let length = min(file.size, 64 << 10)
        guard length > 0 else { return }
        let body: [UInt8]
        do {
            body = try session.client.getObject(key: key, range: 0...(length - 1)).body
        } catch {
            // Missing or unreadable: the restore itself reports it with its own words.
            return
        }
        let stream = AgeStreamDecryptor(totalSize: file.size, identities: identities) { _ in }
        do {
            try body.withUnsafeBytes { try stream.update($0) }
            if Int64(body.count) == file.size { try stream.finish() }
        } catch AgeError.noMatch {
            throw mismatch(manifest, path: file.path, vault: session.vault)
        } catch {
            // A damaged file is found and reported by the download's checks.
        }
    }
}

/// How an encrypted file's object is cut into ranged GETs: every range holds whole sealed chunks
/// (the first one also the header and the payload nonce), so each range decrypts on its own, in
/// any order, straight into its place in the plaintext. Computed from the manifest's sizes alone
/// (the header is what remains of the stored size once the payload is counted), so the same
/// manifest always gives the same ranges: the restore journal's range numbers stay valid.
struct AgeRangePlan: Sendable, Equatable {
    let storedSize: Int64
    let plaintextSize: Int64
    /// Bytes of header and payload nonce: where sealed chunk 0 starts.
    let payloadStart: Int64
    let sealedCount: Int64
    let chunksPerRange: Int64

    /// nil when no age file of `storedSize` bytes holds `plaintextSize` bytes of plaintext.
    init?(storedSize: Int64, plaintextSize: Int64, rangeSize: Int64) {
        guard plaintextSize >= 0, storedSize > 0 else { return nil }
        let headerLength = storedSize - AgeStream.payloadSize(plaintext: plaintextSize)
        // The smallest header: the version line and the MAC line.
        guard headerLength >= 22 + 48, headerLength <= Int64(AgeHeader.maxLength) else { return nil }
        self.storedSize = storedSize
        self.plaintextSize = plaintextSize
        payloadStart = headerLength + Int64(AgeStream.nonceSize)
        sealedCount = AgeStream.chunkCount(plaintext: plaintextSize)
        chunksPerRange = max(1, rangeSize / Int64(AgeStream.sealedChunkSize))
    }

    var rangeCount: Int { Int((sealedCount + chunksPerRange - 1) / chunksPerRange) }

    func firstChunk(_ range: Int) -> Int64 { Int64(range) * chunksPerRange }
    func endChunk(_ range: Int) -> Int64 { min(sealedCount, firstChunk(range + 1)) }
    func storedOffset(chunk: Int64) -> Int64 { min(storedSize, payloadStart + chunk * Int64(AgeStream.sealedChunkSize)) }

    /// The stored bytes a range's GET asks for.
    func stored(_ range: Int) -> (offset: Int64, length: Int64) {
        let start = range == 0 ? 0 : storedOffset(chunk: firstChunk(range))
        return (start, storedOffset(chunk: endChunk(range)) - start)
    }

    /// Where a range's plaintext goes.
    func plain(_ range: Int) -> (offset: Int64, length: Int64) {
        let start = firstChunk(range) * Int64(AgeStream.chunkSize)
        return (start, min(plaintextSize, endChunk(range) * Int64(AgeStream.chunkSize)) - start)
    }

    /// The range holding stored byte `offset`.
    func range(containing offset: Int64) -> Int {
        guard offset >= payloadStart else { return 0 }
        return min(rangeCount - 1, Int((offset - payloadStart) / Int64(AgeStream.sealedChunkSize) / chunksPerRange))
    }
}

/// The keys of one encrypted file being restored, opened from its header and payload nonce (as
/// downloaded, or as kept in the restore journal: they are not secret, the identity is needed to
/// open them), and what re-creates any of its stored bytes from the plaintext already written.
final class AgeFileKeys {
    /// The file's first `payloadStart` bytes: header and payload nonce.
    let headerAndNonce: [UInt8]
    let cipher: AgeChunkCipher
    /// Re-seals written plaintext into the exact stored bytes (to hash them against the manifest).
    let encryptor: AgeFileEncryptor

    private init(headerAndNonce: [UInt8], cipher: AgeChunkCipher, encryptor: AgeFileEncryptor) {
        self.headerAndNonce = headerAndNonce
        self.cipher = cipher
        self.encryptor = encryptor
    }

    /// Opens `headerAndNonce` with `identities`. The header must end exactly where the manifest's
    /// sizes put the payload. `readPlain` reads the plaintext written so far.
    static func open(
        _ headerAndNonce: [UInt8], identities: [AgeIdentity], plan: AgeRangePlan, scratch: AgeScratch,
        readPlain: @escaping (_ offset: Int64, _ buffer: UnsafeMutableRawBufferPointer) throws -> Int
    ) -> Result<AgeFileKeys, AgeError> {
        guard Int64(headerAndNonce.count) == plan.payloadStart else {
            return .failure(.header("\(headerAndNonce.count) bytes of header and nonce, the manifest's sizes leave \(plan.payloadStart)"))
        }
        let header: AgeHeader
        switch headerAndNonce.withUnsafeBytes({ AgeHeader.parse($0) }) {
        case .success(let (h, end)):
            guard Int64(end) + Int64(AgeStream.nonceSize) == plan.payloadStart else {
                return .failure(.header("the header ends at byte \(end), the manifest's sizes put the payload nonce at \(plan.payloadStart - Int64(AgeStream.nonceSize))"))
            }
            header = h
        case .failure(let e): return .failure(e)
        }
        let fileKey: [UInt8]
        switch header.unwrap(with: identities) {
        case .success(let key): fileKey = key
        case .failure(let e): return .failure(e)
        }
        let nonce = Array(headerAndNonce.suffix(AgeStream.nonceSize))
        guard let cipher = AgeChunkCipher(fileKey: fileKey, payloadNonce: nonce),
            let encryptor = AgeFileEncryptor(
                fileKey: fileKey, header: header.encoded, nonce: nonce, plaintextSize: plan.plaintextSize, scratch: scratch, readPlain: readPlain)
        else { return .failure(.unavailable("HKDF failed")) }
        encryptor.tagBook = nil
        return .success(AgeFileKeys(headerAndNonce: headerAndNonce, cipher: cipher, encryptor: encryptor))
    }
}

/// One ranged GET of an encrypted file, decrypted as it arrives: the sealed chunks are collected,
/// each authenticated (ChaCha20-Poly1305 with its index and last-chunk flag) and its plaintext
/// written with `pwrite` at its place in the `.partial`. Holds one sealed and one plain chunk;
/// the first range also the header. Nothing is written that did not authenticate; the first
/// failure stops the range (the rest of its bytes are ignored).
final class AgeRangeReceiver: ResponseStream, @unchecked Sendable {
    let range: Int
    private let plan: AgeRangePlan
    private let fd: Int32
    /// The file's keys; for range 0 found in its own first bytes when not known yet.
    private(set) var keys: AgeFileKeys?
    private let openKeys: ([UInt8]) -> Result<AgeFileKeys, AgeError>
    /// Authenticated stored bytes at their offset, in order (the header with chunk 0): the engine
    /// hashes them straight away when they are next for the file's verifier.
    private let authenticated: (_ offset: Int64, _ bytes: UnsafeRawBufferPointer) -> Void
    /// Set when the file was given up: later bytes are dropped unread.
    var cancelled = false

    private var head: [UInt8] = []
    private var chunk: Int64
    private var fill = 0
    private var position: Int64 = 0
    private let sealed = UnsafeMutableRawBufferPointer.allocate(byteCount: AgeStream.sealedChunkSize, alignment: 16)
    private let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: AgeStream.chunkSize, alignment: 16)
    /// Stored offset up to which everything of this range authenticated and was written.
    private(set) var written: Int64
    /// Why the range cannot be used (a chunk failed authentication, a bad header).
    private(set) var problem: AgeError?

    init(
        range: Int, plan: AgeRangePlan, fd: Int32, keys: AgeFileKeys?, openKeys: @escaping ([UInt8]) -> Result<AgeFileKeys, AgeError>,
        authenticated: @escaping (_ offset: Int64, _ bytes: UnsafeRawBufferPointer) -> Void
    ) {
        self.range = range
        self.plan = plan
        self.fd = fd
        self.keys = keys
        self.openKeys = openKeys
        self.authenticated = authenticated
        chunk = plan.firstChunk(range)
        written = plan.stored(range).offset
    }

    deinit {
        sealed.deallocate()
        plain.deallocate()
    }

    private var start: Int64 { plan.stored(range).offset }

    func receive(_ bytes: UnsafeRawBufferPointer, at offset: Int64) -> Int32 {
        if offset == 0 {
            // A new attempt: what an earlier one wrote is simply written again.
            head = []
            chunk = plan.firstChunk(range)
            fill = 0
            position = 0
            problem = nil
        }
        guard !cancelled, problem == nil, !bytes.isEmpty else { return 0 }
        guard offset == position else {
            problem = .payload("bytes of range \(range) arrived out of order")
            return 0
        }
        position += Int64(bytes.count)
        var rest = bytes
        if range == 0 && Int64(head.count) < plan.payloadStart {
            let take = min(rest.count, Int(plan.payloadStart) - head.count)
            head += UnsafeRawBufferPointer(rebasing: rest[0..<take])
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
            guard Int64(head.count) == plan.payloadStart else { return 0 }
            if let keys {
                // Downloaded again: the header must be the one the file's other ranges opened with.
                guard keys.headerAndNonce == head else {
                    problem = .header("the header differs from the one downloaded before")
                    return 0
                }
            } else {
                switch openKeys(head) {
                case .success(let k): keys = k
                case .failure(let e):
                    problem = e
                    return 0
                }
            }
        }
        guard let keys else { return 0 }
        while !rest.isEmpty, chunk < plan.endChunk(range) {
            let length = Int(plan.storedOffset(chunk: chunk + 1) - plan.storedOffset(chunk: chunk))
            let take = min(length - fill, rest.count)
            (sealed.baseAddress! + fill).copyMemory(from: rest.baseAddress!, byteCount: take)
            fill += take
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
            guard fill == length else { break }
            if let code = open(chunk: chunk, length: length, keys: keys) { return code }
            if problem != nil { return 0 }
            fill = 0
            chunk += 1
        }
        return 0
    }

    /// Authenticates and writes the whole sealed chunk in the buffer; an errno when writing failed.
    private func open(chunk index: Int64, length: Int, keys: AgeFileKeys) -> Int32? {
        let last = index == plan.sealedCount - 1
        let textLength = length - AgeStream.tagSize
        guard textLength >= 0, keys.cipher.open(index: index, last: last, input: sealed.baseAddress!, length: textLength, output: plain.baseAddress!) else {
            problem = .payload("chunk \(index) failed authentication")
            return nil
        }
        if last && textLength == 0 && index > 0 {
            problem = .payload("an empty last chunk follows a full one")
            return nil
        }
        let at = index * Int64(AgeStream.chunkSize)
        var done = 0
        while done < textLength {
            let n = pwrite(fd, plain.baseAddress! + done, textLength - done, off_t(at + Int64(done)))
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            done += n
        }
        if index == 0 { keys.headerAndNonce.withUnsafeBytes { authenticated(0, $0) } }
        let offset = plan.storedOffset(chunk: index)
        authenticated(offset, UnsafeRawBufferPointer(rebasing: sealed[0..<length]))
        written = offset + Int64(length)
        return nil
    }
}
