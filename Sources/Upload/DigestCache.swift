import Synchronization

/// Shares the digests of file regions between the vaults of one upload, so each part is hashed
/// once however many vaults it goes to (SPEC 5.1). The first vault to need a region computes
/// it; a vault that asks while that is under way waits for the result instead of hashing again.
public final class DigestCache: Sendable {
    struct Key: Hashable, Sendable {
        var path: String
        var inode: UInt64
        var mtime: Int64
        var offset: Int64
        var length: Int64
    }

    private enum Slot: Sendable {
        case computing
        case done(PayloadDigests)
    }

    private let slots = Mutex<[Key: Slot]>([:])
    /// Whether every computation includes MD5 (some vault needs Content-MD5).
    public let alwaysMD5: Bool

    public init(alwaysMD5: Bool) {
        self.alwaysMD5 = alwaysMD5
    }

    /// The digests of a region: from the cache, or computed by `compute` exactly once.
    func digests(
        path: String, inode: UInt64, mtime: Int64, offset: Int64, length: Int64, needMD5: Bool,
        compute: () throws -> PayloadDigests
    ) rethrows -> PayloadDigests {
        let key = Key(path: path, inode: inode, mtime: mtime, offset: offset, length: length)
        while true {
            let state: Slot? = slots.withLock { table in
                if let slot = table[key] { return slot }
                table[key] = .computing
                return nil
            }
            switch state {
            case .none:
                do {
                    let result = try compute()
                    slots.withLock { $0[key] = .done(result) }
                    return result
                } catch {
                    slots.withLock { _ = $0.removeValue(forKey: key) }
                    throw error
                }
            case .done(let result)?:
                if needMD5 && result.md5 == nil { return try compute() }
                return result
            case .computing?:
                // Another vault is hashing this region right now: its result is milliseconds away.
                usleep(500)
            }
        }
    }

    /// Forgets a file's regions once every vault is past it.
    public func forget(path: String) {
        slots.withLock { table in table = table.filter { $0.key.path != path } }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
