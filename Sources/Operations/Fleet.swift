import AgentSupport
import Backups
import Restore
import S3
import Vault

/// `agent fleet`: every host prefix beside this vault's (under the same parent, this host's
/// own included) and when each last got a complete backup offsite, from the offsite manifests
/// alone. Needs only list and read permission.
public struct Fleet {
    public struct Host: Sendable {
        public var prefix: String
        /// The manifest's host, else the prefix's last segment.
        public var host: String
        public var lastBackup: String?
        public var uploadedAt: Int64?
        public var ageSeconds: Int64?
        public var overdue: Bool
        /// The vault's own prefix: this host.
        public var isThisVault: Bool

        public var json: JSON {
            .object([
                ("prefix", .string(prefix)), ("host", .string(host)), ("last_backup", lastBackup.map { .string($0) } ?? .null),
                ("uploaded_at", uploadedAt.map { .string(Timestamp.iso8601($0)) } ?? .null), ("age_seconds", ageSeconds.map { .int($0) } ?? .null),
                ("overdue", .bool(overdue)),
            ])
        }
    }

    public let session: VaultSession
    /// Manifests read per host, newest first by their LastModified, to find the newest upload.
    public var manifestsPerHost = 10
    /// Folders under the parent that are not hosts (`shared/`, `acme/shared/`): left out. A folder
    /// without any offsite manifest is otherwise a host whose uploads never finished, and overdue.
    public var excluded: [String] = []

    public init(session: VaultSession) { self.session = session }

    /// The parent of a vault prefix: "acme/web-01/" → "acme/", "web-01/" → ""; nil for "" (no host prefix).
    public static func parent(of prefix: String) -> String? {
        guard prefix.hasSuffix("/") else { return nil }
        let trimmed = prefix.dropLast()
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        return String(trimmed[...slash])
    }

    /// Every host under the parent of the vault's prefix, in prefix order.
    public func hosts(maxAge: Double, now: Int64) throws(AgentError) -> [Host] {
        let prefixes: [String]
        if let parent = Self.parent(of: session.prefix) {
            prefixes = try commonPrefixes(under: parent)
        } else {
            prefixes = [session.prefix]  // keys at the bucket's top level: this vault is the whole fleet
        }
        var hosts: [Host] = []
        for prefix in prefixes where !isExcluded(prefix) {
            var host = try newest(under: prefix)
            host.isThisVault = prefix == session.prefix
            if let uploaded = host.uploadedAt {
                host.ageSeconds = max(0, now - uploaded)
                host.overdue = Double(now - uploaded) > maxAge
            } else {
                host.overdue = true
            }
            hosts.append(host)
        }
        if !prefixes.contains(session.prefix), !session.prefix.isEmpty {
            hosts.append(Host(prefix: session.prefix, host: Self.name(session.prefix), overdue: true, isThisVault: true))
            hosts.sort { $0.prefix < $1.prefix }
        }
        return hosts
    }

    private func commonPrefixes(under parent: String) throws(AgentError) -> [String] {
        var found: [String] = []
        do {
            try session.client.forEachListingPage(prefix: parent, delimiter: "/") { found += $0.commonPrefixes }
        } catch {
            throw session.storageError(error, action: "s3:ListBucket")
        }
        return found.sorted()
    }

    /// The host's newest complete backup: its manifests, newest LastModified first.
    private func newest(under prefix: String) throws(AgentError) -> Host {
        let objects: [S3Object]
        do {
            objects = try session.client.listAllObjects(prefix: prefix)
        } catch {
            throw session.storageError(error, action: "s3:ListBucket")
        }
        let manifests = objects.filter { object in
            guard object.key.hasSuffix("/" + Backup.offsiteManifestName) else { return false }
            let rest = object.key.dropFirst(prefix.count).dropLast(Backup.offsiteManifestName.count + 1)
            return !rest.isEmpty && !rest.contains("/")
        }.sorted { ($0.lastModified, $0.key) > ($1.lastModified, $1.key) }
        var best: Host = Host(prefix: prefix, host: Self.name(prefix), overdue: true, isThisVault: false)
        for object in manifests.prefix(manifestsPerHost) {
            let id = String(object.key.dropFirst(prefix.count).dropLast(Backup.offsiteManifestName.count + 1))
            let body: String
            do {
                body = try session.client.getObject(key: object.key, sink: .memory(limit: 64 << 20)).bodyText
            } catch {
                if let s = error.failure.serviceError, s.status == 404 { continue }
                throw session.storageError(error, action: "s3:GetObject")
            }
            // A manifest this agent cannot read proves nothing: the next one is tried.
            guard let manifest = OffsiteManifest.parse(body) else { continue }
            let uploaded = manifest.uploadedAt.flatMap(Timestamp.parseISO8601) ?? Timestamp.parseISO8601(object.lastModified)
            guard let uploaded, uploaded > (best.uploadedAt ?? Int64.min) else { continue }
            best.lastBackup = id
            best.uploadedAt = uploaded
            if !manifest.host.isEmpty { best.host = manifest.host }
        }
        return best
    }

    /// True when `prefix` is one of `excluded`, given as a full prefix ("acme/shared/") or as a
    /// folder name under the parent ("shared", "shared/"). The vault's own prefix is never left out.
    func isExcluded(_ prefix: String) -> Bool {
        guard prefix != session.prefix else { return false }
        return excluded.contains { item in
            let folder = item.hasSuffix("/") ? item : item + "/"
            return prefix == folder || Self.name(prefix) + "/" == folder
        }
    }

    static func name(_ prefix: String) -> String {
        String(prefix.dropLast().split(separator: "/").last ?? "")
    }
}

extension Fleet.Host {
    init(prefix: String, host: String, overdue: Bool, isThisVault: Bool) {
        self.init(prefix: prefix, host: host, lastBackup: nil, uploadedAt: nil, ageSeconds: nil, overdue: overdue, isThisVault: isThisVault)
    }
}
