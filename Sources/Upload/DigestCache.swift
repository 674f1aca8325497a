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
    /// Digests every computation includes: what any of the vaults needs (MD5 for Content-MD5,
    /// CRC-32C for a vault that sends x-amz-checksum-crc32c, SHA-256 for a signed payload).
    public let always: DigestKinds

    public init(always: DigestKinds) {
        self.always = always
    }

    public convenience init(alwaysMD5: Bool) {
        self.init(always: alwaysMD5 ? [.sha256, .md5] : [.sha256])
    }

    /// The digests of a region: from the cache, or computed by `compute` (given the kinds to
    /// compute: `need` and `always`) exactly once.
    func digests(
        path: String, inode: UInt64, mtime: Int64, offset: Int64, length: Int64, need: DigestKinds,
        compute: (DigestKinds) throws -> PayloadDigests
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
                    let result = try compute(need.union(always))
                    slots.withLock { $0[key] = .done(result) }
                    return result
                } catch {
                    slots.withLock { _ = $0.removeValue(forKey: key) }
                    throw error
                }
            case .done(let result)?:
                if !result.kinds.isSuperset(of: need) { return try compute(need) }
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
