import COpenSSL

/// HMAC-SHA256 through libcrypto's one-shot `HMAC`.
public enum HMAC {
    public static func sha256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                out.withUnsafeMutableBufferPointer { o in
                    _ = COpenSSL.HMAC(
                        EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, o.baseAddress, &length)
                }
            }
        }
        return out
    }

    public static func sha256(key: [UInt8], data: String) -> [UInt8] {
        sha256(key: key, data: Array(data.utf8))
    }
}
