/// Bech32 (BIP 173) as age uses it for `age1…` recipients and `AGE-SECRET-KEY-1…` identities:
/// the original checksum constant, no 90-character limit, one case per string.
public enum Bech32 {
    private static let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    private static let reverse: [Int8] = {
        var table = [Int8](repeating: -1, count: 128)
        for (i, c) in charset.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    private static func polymod(_ values: [UInt8]) -> UInt32 {
        let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]
        var chk: UInt32 = 1
        for v in values {
            let top = chk >> 25
            chk = (chk & 0x1ff_ffff) << 5 ^ UInt32(v)
            for i in 0..<5 where (top >> UInt32(i)) & 1 == 1 { chk ^= generator[i] }
        }
        return chk
    }

    private static func expand(_ hrp: [UInt8]) -> [UInt8] {
        hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 }
    }

    /// Regroups bits (8 → 5 when encoding, 5 → 8 when decoding); nil for non-zero padding.
    static func convert(_ data: [UInt8], from: Int, to: Int, pad: Bool) -> [UInt8]? {
        var acc = 0
        var bits = 0
        var out: [UInt8] = []
        let maxValue = (1 << to) - 1
        for value in data {
            acc = (acc << from) | Int(value)
            bits += from
            while bits >= to {
                bits -= to
                out.append(UInt8((acc >> bits) & maxValue))
            }
        }
        if pad {
            if bits > 0 { out.append(UInt8((acc << (to - bits)) & maxValue)) }
        } else if bits >= from || (acc << (to - bits)) & maxValue != 0 {
            return nil
        }
        return out
    }

    /// Lower-case encoding of `data` under `hrp` (lower case).
    public static func encode(hrp: String, data: [UInt8]) -> String {
        let h = Array(hrp.lowercased().utf8)
        let values = convert(data, from: 8, to: 5, pad: true) ?? []
        let mod = polymod(expand(h) + values + [0, 0, 0, 0, 0, 0]) ^ 1
        var out = h + [UInt8(ascii: "1")]
        for v in values { out.append(charset[Int(v)]) }
        for i in 0..<6 { out.append(charset[Int((mod >> UInt32(5 * (5 - i))) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The human-readable part (lower case) and the data; nil for any malformed string.
    public static func decode(_ text: String) -> (hrp: String, data: [UInt8])? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 8, bytes.count <= 4096 else { return nil }
        var hasLower = false
        var hasUpper = false
        for c in bytes {
            guard c >= 33, c <= 126 else { return nil }
            if c >= 97 && c <= 122 { hasLower = true }
            if c >= 65 && c <= 90 { hasUpper = true }
        }
        guard !(hasLower && hasUpper) else { return nil }
        let lower = bytes.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        guard let sep = lower.lastIndex(of: UInt8(ascii: "1")), sep >= 1, lower.count - sep - 1 >= 6 else { return nil }
        let hrp = Array(lower[..<sep])
        var values: [UInt8] = []
        for c in lower[(sep + 1)...] {
            guard c < 128, reverse[Int(c)] >= 0 else { return nil }
            values.append(UInt8(reverse[Int(c)]))
        }
        guard polymod(expand(hrp) + values) == 1 else { return nil }
        guard let data = convert(Array(values.dropLast(6)), from: 5, to: 8, pad: false) else { return nil }
        return (String(decoding: hrp, as: UTF8.self), data)
    }
}
