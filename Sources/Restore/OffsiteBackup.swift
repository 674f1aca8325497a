import AgentSupport
import S3
import Vault

/// A backup as the vault holds it: its objects, and its manifest when the upload finished.
public struct OffsiteBackup: Sendable {
    public var id: String
    /// Nil: no `offsite-manifest.json`, the backup is incomplete.
    public var manifest: OffsiteManifest?
    /// Every object under `<prefix><id>/`, the manifest included.
    public var objects: [S3Object]
    /// The Object Lock retention its manifest carries, when the vault shows one
    /// (`VaultCatalog.readRetention`).
    public var retention: ObjectRetention? = nil

    public init(id: String, manifest: OffsiteManifest?, objects: [S3Object]) {
        self.id = id
        self.manifest = manifest
        self.objects = objects
    }

    public var isComplete: Bool { manifest != nil }

    /// The manifest's date, else the newest object's modification time.
    public var date: Int64? {
        if let d = manifest?.date { return d }
        return objects.compactMap { Timestamp.parseISO8601($0.lastModified) }.max()
    }

    /// Bytes of the backup's files (the manifest's sizes; stored objects when incomplete).
    public var size: Int64 { manifest?.totalBytes ?? objects.saturatingSum(\.size) }

    public var fileCount: Int { manifest?.files.count ?? objects.count }

    public func json() -> JSON {
        .object([
            ("id", .string(id)),
            ("date", date.map { .string(Timestamp.iso8601($0)) } ?? .null),
            ("complete", .bool(isComplete)),
            ("host", manifest.map { .string($0.host) } ?? .null),
            ("type", manifest?.type.map { .string($0) } ?? .null),
            ("created_at", manifest?.createdAt.map { .string($0) } ?? .null),
            ("uploaded_at", manifest?.uploadedAt.map { .string($0) } ?? .null),
            ("size", .int(size)),
            ("files", .int(Int64(fileCount))),
            ("lock_mode", retention.map { .string($0.mode) } ?? .null),
            ("retain_until", retention.map { .string($0.retainUntil.map(Timestamp.iso8601) ?? $0.retainUntilText) } ?? .null),
        ])
    }
}
