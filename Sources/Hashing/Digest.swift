import COpenSSL

/// An incremental message digest over OpenSSL EVP (SHA-NI and friends come for free).
/// Not thread-safe: one digest belongs to one thread at a time.
public final class Digest {
    public enum Algorithm: Sendable {
        case sha256, md5, sha1

        var evp: OpaquePointer? {
            switch self {
            case .sha256: return EVP_sha256()
            case .md5: return EVP_md5()
            case .sha1: return EVP_sha1()
            }
        }

        public var outputLength: Int {
            switch self {
            case .sha256: return 32
            case .md5: return 16
            case .sha1: return 20
            }
        }
    }

    public let algorithm: Algorithm
    private let ctx: OpaquePointer

    public init(_ algorithm: Algorithm) {
        self.algorithm = algorithm
        // EVP_MD_CTX_new only fails on allocation failure, which Swift treats as fatal anyway.
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        self.ctx = ctx
        EVP_DigestInit_ex(ctx, algorithm.evp, nil)
    }

    deinit { EVP_MD_CTX_free(ctx) }

    /// Starts over, keeping the context's allocation.
    public func reset() {
        EVP_DigestInit_ex(ctx, algorithm.evp, nil)
    }

    public func update(_ buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        EVP_DigestUpdate(ctx, base, buffer.count)
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public func update(_ string: String) {
        var s = string
        s.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// The digest of everything fed so far; the digest is reset afterwards.
    public func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        out.withUnsafeMutableBufferPointer { buf in
            _ = EVP_DigestFinal_ex(ctx, buf.baseAddress, &length)
        }
        reset()
        return Array(out.prefix(Int(length)))
    }

    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { oneShot(.sha256, bytes) }
    public static func sha256(_ string: String) -> [UInt8] { sha256(Array(string.utf8)) }
    public static func md5(_ bytes: [UInt8]) -> [UInt8] { oneShot(.md5, bytes) }

    private static func oneShot(_ algorithm: Algorithm, _ bytes: [UInt8]) -> [UInt8] {
        let d = Digest(algorithm)
        d.update(bytes)
        return d.finalize()
    }
}
