import COpenSSL

/// The primitives of age v1, all from OpenSSL's libcrypto: X25519, HKDF-SHA-256,
/// ChaCha20-Poly1305, HMAC-SHA-256 and the system's random generator.
public enum AgePrimitives {
    /// Whether this libcrypto offers every algorithm age needs (checked before anything is sent).
    public static var available: Bool { offsite_age_available() == 1 }

    /// `count` bytes from OpenSSL's CSPRNG; nil when it cannot deliver (never fall back).
    public static func random(_ count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        return ok == 1 ? out : nil
    }

    public static func x25519Public(_ scalar: [UInt8]) -> [UInt8]? {
        guard scalar.count == 32 else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        let ok = offsite_x25519_public(scalar, &out)
        return ok == 1 ? out : nil
    }

    /// The shared secret; nil for a low-order peer (all-zero result) or a malformed key.
    public static func x25519(_ scalar: [UInt8], _ peer: [UInt8]) -> [UInt8]? {
        guard scalar.count == 32, peer.count == 32 else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        let ok = offsite_x25519(scalar, peer, &out)
        return ok == 1 ? out : nil
    }

    public static func hkdf(ikm: [UInt8], salt: [UInt8], info: String, length: Int = 32) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: length)
        let infoBytes = Array(info.utf8)
        let ok = infoBytes.withUnsafeBufferPointer { i in
            i.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(1, i.count)) { info in
                offsite_hkdf_sha256(ikm, ikm.count, salt, salt.count, info, infoBytes.count, &out, length)
            }
        }
        return ok == 1 ? out : nil
    }

    public static func hmacSHA256(key: [UInt8], data: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = key.withUnsafeBufferPointer { k in
            COpenSSL.HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count, &out, &length)
        }
        return out
    }

    /// Constant-time comparison of two equally long byte strings.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return CRYPTO_memcmp(a, b, a.count) == 0
    }
}

/// One ChaCha20-Poly1305 context, reused for many seals and opens (one thread at a time).
public final class ChaChaPoly {
    private let ctx: OpaquePointer
    /// Plain ChaCha20, for re-creating ciphertext whose tag is known.
    private lazy var streamCtx: OpaquePointer = {
        guard let ctx = EVP_CIPHER_CTX_new() else { fatalError("EVP_CIPHER_CTX_new: out of memory") }
        return ctx
    }()
    private var hasStreamCtx = false

    public init() {
        guard let ctx = EVP_CIPHER_CTX_new() else { fatalError("EVP_CIPHER_CTX_new: out of memory") }
        self.ctx = ctx
    }

    deinit {
        EVP_CIPHER_CTX_free(ctx)
        if hasStreamCtx { EVP_CIPHER_CTX_free(streamCtx) }
    }

    /// The ciphertext `seal` would make (without its tag): ChaCha20 from block 1.
    public func encryptOnly(key: UnsafePointer<UInt8>, nonce: UnsafePointer<UInt8>, input: UnsafeRawPointer, length: Int, output: UnsafeMutableRawPointer) -> Bool {
        hasStreamCtx = true
        return offsite_chacha20_xor(streamCtx, key, nonce, input.assumingMemoryBound(to: UInt8.self), length, output.assumingMemoryBound(to: UInt8.self)) == 1
    }

    /// Seals `length` bytes at `input` into `output` (ciphertext then the 16-byte tag).
    public func seal(key: UnsafePointer<UInt8>, nonce: UnsafePointer<UInt8>, input: UnsafeRawPointer?, length: Int, output: UnsafeMutableRawPointer) -> Bool {
        let out = output.assumingMemoryBound(to: UInt8.self)
        let inp = (input ?? UnsafeRawPointer(output)).assumingMemoryBound(to: UInt8.self)
        return offsite_chacha_seal(ctx, key, nonce, inp, length, out, out + length) == 1
    }

    /// Opens `length` bytes of ciphertext followed by their tag at `input` into `output`.
    public func open(key: UnsafePointer<UInt8>, nonce: UnsafePointer<UInt8>, input: UnsafeRawPointer, length: Int, output: UnsafeMutableRawPointer) -> Bool {
        let inp = input.assumingMemoryBound(to: UInt8.self)
        return offsite_chacha_open(ctx, key, nonce, inp, length, inp + length, output.assumingMemoryBound(to: UInt8.self)) == 1
    }

    public func seal(key: [UInt8], nonce: [UInt8], plaintext: [UInt8]) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        let ok = plaintext.withUnsafeBytes { p in
            out.withUnsafeMutableBytes { o in seal(key: key, nonce: nonce, input: p.baseAddress, length: plaintext.count, output: o.baseAddress!) }
        }
        return ok ? out : nil
    }

    public func open(key: [UInt8], nonce: [UInt8], sealed: [UInt8]) -> [UInt8]? {
        guard sealed.count >= 16 else { return nil }
        var out = [UInt8](repeating: 0, count: sealed.count - 16)
        let ok = sealed.withUnsafeBytes { s in
            out.withUnsafeMutableBytes { o in open(key: key, nonce: nonce, input: s.baseAddress!, length: sealed.count - 16, output: o.baseAddress ?? UnsafeMutableRawPointer(mutating: s.baseAddress!)) }
        }
        return ok ? out : nil
    }
}
