/// Secrets never reach output: access key ids are shown by their last 4 characters only.
public enum Redaction {
    public static func accessKeyID(_ id: String) -> String {
        guard id.count > 4 else { return "****" }
        return "****" + String(id.suffix(4))
    }

    public static let secret = "<redacted>"
}
