/// The bucket naming rules every S3-compatible provider shares, checked offline.
///
/// Rules from https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
/// (general purpose buckets): 3 to 63 characters; only lowercase letters, digits, dots and
/// hyphens; start and end with a letter or digit; no two adjacent dots; not shaped like an IP
/// address; no `xn--`/`sthree-` prefix and no `-s3alias`/`--ol-s3` suffix. R2, B2, Wasabi,
/// MinIO and Spaces document the same core rules (lowercase, 3-63, alphanumeric ends).
public enum BucketNameRules {
    /// The rule `name` breaks, in words, or nil when it is a valid name.
    public static func violation(_ name: String) -> String? {
        let chars = Array(name.unicodeScalars)
        if chars.count < 3 || chars.count > 63 {
            return "a bucket name is 3 to 63 characters long; \"\(name)\" has \(chars.count)"
        }
        func isLowerAlnum(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("0"..."9").contains(c) }
        if let bad = chars.first(where: { !isLowerAlnum($0) && $0 != "." && $0 != "-" }) {
            let what = ("A"..."Z").contains(bad) ? "uppercase letters" : "the character '\(bad)'"
            return "a bucket name holds only lowercase letters, digits, dots and hyphens; \"\(name)\" has \(what)"
        }
        if let first = chars.first, let last = chars.last, !isLowerAlnum(first) || !isLowerAlnum(last) {
            return "a bucket name starts and ends with a letter or digit; \"\(name)\" does not"
        }
        if name.contains("..") {
            return "a bucket name has no two adjacent dots; \"\(name)\" has"
        }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 4, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) }) {
            return "a bucket name is not formatted as an IP address; \"\(name)\" is"
        }
        for prefix in ["xn--", "sthree-"] where name.hasPrefix(prefix) {
            return "a bucket name does not start with \"\(prefix)\" (reserved)"
        }
        for suffix in ["-s3alias", "--ol-s3"] where name.hasSuffix(suffix) {
            return "a bucket name does not end with \"\(suffix)\" (reserved)"
        }
        return nil
    }
}
