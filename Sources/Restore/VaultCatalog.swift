import AgentSupport
import Backups
import S3
import Vault

/// The backups a vault holds under its prefix, read from one listing plus each backup's manifest.
public struct VaultCatalog {
    public let session: VaultSession

    public init(session: VaultSession) {
        self.session = session
    }

    /// Every backup under the prefix, oldest first (undated ones last).
    public func backups() throws(AgentError) -> [OffsiteBackup] {
        let objects: [S3Object]
        do {
            objects = try session.client.listAllObjects(prefix: session.prefix)
        } catch {
            throw session.storageError(error, action: "s3:ListBucket")
        }
        var grouped: [String: [S3Object]] = [:]
        for object in objects {
            let rest = object.key.dropFirst(session.prefix.count)
            guard let slash = rest.firstIndex(of: "/") else { continue }
            grouped[String(rest[..<slash]), default: []].append(object)
        }
        var found: [OffsiteBackup] = []
        for (id, held) in grouped {
            var manifest: OffsiteManifest?
            if held.contains(where: { $0.key == session.manifestKey(id) }) {
                do {
                    manifest = try session.manifest(of: id)
                } catch  where error.code == .rejected {
                    // An unreadable manifest proves nothing: the backup is listed as incomplete.
                    session.logger.warning(
                        "\(error.message)", metadata: ["backup": .string(id), "key": .string(session.manifestKey(id)), "code": .string(error.code.rawValue)])
                }
            }
            found.append(OffsiteBackup(id: id, manifest: manifest, objects: held))
        }
        return found.sorted { a, b in
            switch (a.date, b.date) {
            case (let x?, let y?) where x != y: return x < y
            case (_?, nil): return true
            case (nil, _?): return false
            default: return a.id < b.id
            }
        }
    }
}
