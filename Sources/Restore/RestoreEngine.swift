import Age
import AgentSupport
import Backups
import HTTPTransport
import S3

#if canImport(Glibc)
    import Glibc
#endif

/// Brings an offsite copy back into a directory: several ranged GETs in flight, each written
/// with `pwrite` at its offset into the file's `.partial` (nothing held in memory), every file
/// hashed in order as its ranges arrive and checked against the manifest before it is renamed
/// into place. A journal in the target lets a re-run after a kill continue with the ranges
/// still missing. Runs on the thread of the session's `HTTPClient`.
public final class RestoreEngine {
    public let session: VaultSession
    /// Bytes per ranged GET (and per journal record of progress).
    public var chunkSize: Int64 = 8 << 20
    /// Called with bytes newly written.
    public var onProgress: ((_ bytes: Int64) -> Void)?
    /// Called once the work is known: the backup's bytes, and those an earlier run already restored.
    public var onStart: ((_ total: Int64, _ alreadyDone: Int64) -> Void)?
    private var warnings: [String] = []
    /// Identities that open an encrypted backup (`--identity`, or the vault's `identity_file`).
    public var identities: [AgeIdentity]?
    private var manifest: OffsiteManifest?
    /// For NO_SPACE messages: the target and the bytes the restore still had to write.
    private var spaceTarget = ""
    private var bytesStillNeeded: Int64 = 0

    public init(session: VaultSession) {
        self.session = session
    }

    /// One file being restored.
    private final class Work {
        let index: Int
        let file: OffsiteManifest.File
        let key: String
        let partial: String
        let chunks: [(offset: Int64, length: Int64)]
        var done: Set<Int>
        var verifier: SegmentVerifier
        /// Chunks before this one are hashed.
        var frontier = 0
        var fd: Int32 = -1
        var downloads = 1
        var finished = false
        var problem: String?
        /// Ranged GETs of this file not yet answered: its descriptor stays open (and its
        /// `.partial` in place) until the last one has called back.
        var inFlight = 0
        /// Chunks queued or in flight: never asked for twice at once.
        var wanted: Set<Int> = []
        /// Chunks written by this run (an earlier run's may have been lost with the page cache).
        var fetched: Set<Int> = []

        init(index: Int, file: OffsiteManifest.File, key: String, partial: String, chunkSize: Int64, done: [Int]) {
            self.index = index
            self.file = file
            self.key = key
            self.partial = partial
            let chunks = VaultSession.chunks(size: file.size, chunkSize: chunkSize)
            self.chunks = chunks
            self.done = Set(done.filter { $0 >= 0 && $0 < chunks.count })
            verifier = SegmentVerifier(segments: file.segments)
        }
    }

    // MARK: restore

    public func restore(backup: String, into target: String, force: Bool) throws(AgentError) -> RestoreResult {
        let started = monotonicSeconds()
        try RestorePaths.validateBackupID(backup)
        let manifest = try session.requireManifest(of: backup)
        // Every path is checked before anything is written.
        try RestorePaths.validate(manifest, vault: session.vault)
        self.manifest = manifest
        if manifest.isEncrypted {
            // Nothing is written before an identity is known to open the backup.
            let ids = try RestoreDecryption.requireIdentities(identities, manifest: manifest, vault: session.vault, what: "restoring it")
            try RestoreDecryption.probe(manifest, identities: ids, session: session)
        }
        let earlier = try prepareTarget(target, backup: backup, manifest: manifest, force: force)
        let staging = try prepareStaging(target)
        // A half-restored backup must never look finished to `agent upload --pending`.
        let marker = "\(target)/\(Backup.inProgressMarker)"
        let markerFD = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard markerFD >= 0 else { throw writeFailure("cannot create the marker \(marker)", errno) }
        close(markerFD)

        var journal = RestoreJournal(
            backup: backup, vault: session.vault, manifestSHA256: manifest.fingerprint, chunkSize: chunkSize,
            files: manifest.files.map { RestoreJournal.File(path: $0.path, size: $0.size) })
        var resumed = false
        if let earlier {
            if earlier.manifestSHA256 == journal.manifestSHA256, earlier.chunkSize == chunkSize, earlier.files.map(\.path) == journal.files.map(\.path) {
                journal = earlier
                resumed = true
                session.logger.info("continuing the interrupted restore of backup \(backup) into \(target)")
            } else {
                warn("the interrupted restore in \(target) belongs to another version of backup \(backup)'s manifest; starting over")
            }
        }
        journal.vault = session.vault
        try journal.save(target: target)

        var results: [RestoreResult.File] = []
        var works: [Work] = []
        for (index, file) in manifest.files.enumerated() {
            let partial = "\(staging)/\(index).partial"
            let final = "\(target)/\(file.path)"
            if journal.files[index].done {
                // Finished earlier: in place, or verified and saved just before its rename.
                if isRegularFile(final) && access(partial, F_OK) != 0 {
                    results.append(RestoreResult.File(path: file.path, size: file.plaintextSize, status: .already))
                    continue
                }
                if access(partial, F_OK) == 0 {
                    try makeParents(of: file.path, in: target)
                    if rename(partial, final) == 0 {
                        results.append(RestoreResult.File(path: file.path, size: file.plaintextSize, status: .already))
                        continue
                    }
                }
                journal.files[index].done = false
                journal.files[index].chunks = []
            }
            let key = file.key.isEmpty ? session.backupPrefix(backup) + file.path : file.key
            works.append(Work(index: index, file: file, key: key, partial: partial, chunkSize: chunkSize, done: journal.files[index].chunks))
        }
        let total = manifest.totalBytes
        let alreadyDone = results.reduce(Int64(0)) { $0 + $1.size } + works.reduce(Int64(0)) { sum, w in sum + w.done.reduce(Int64(0)) { $0 + w.chunks[$1].length } }
        onStart?(total, alreadyDone)
        // Room for what is still to come, before the first byte of it is fetched: each file's size
        // less what its `.partial` already occupies (rewritten in place, or truncated and refilled).
        spaceTarget = target
        bytesStillNeeded = works.saturatingSum { w in
            var st = stat()
            let held = lstat(w.partial, &st) == 0 ? Int64(st.st_blocks) * 512 : 0
            return max(0, w.file.size - held)
        }
        if let free = Self.freeBytes(staging), free < bytesStillNeeded {
            throw noSpace(free: free)
        }

        let downloaded = try run(works, journal: &journal, target: target, backup: backup)
        for w in works {
            results.append(RestoreResult.File(path: w.file.path, size: w.file.plaintextSize, status: w.problem == nil ? .restored : .mismatch, problem: w.problem))
        }
        results.sort { $0.path < $1.path }
        let result = RestoreResult(
            backup: backup, vault: session.vault, target: target, files: results, bytes: total, bytesDownloaded: downloaded,
            seconds: monotonicSeconds() - started, resumed: resumed, warnings: warnings)
        if result.ok {
            // Finished: nothing of the agent's own is left in the target.
            unlink(RestoreJournal.path(in: target))
            rmdir(staging)
            unlink(marker)
            let seconds = result.seconds
            let rate = seconds > 0 ? Int64(Double(downloaded) / seconds) : 0
            session.logger.info(
                "Restored: \(results.count) files, \(total) bytes (\(Units.formatSize(total))) of backup \(backup) into \(target); downloaded \(Units.formatSize(downloaded)) in \(Units.formatDuration(seconds)) (\(Units.formatSize(rate))/s)"
            )
        }
        return result
    }

    // MARK: transfers

    /// Downloads every missing chunk, several in flight, and finishes each file as its last chunk lands.
    private func run(_ works: [Work], journal: inout RestoreJournal, target: String, backup: String) throws(AgentError) -> Int64 {
        var queue: [(work: Int, chunk: Int)] = []
        for (i, w) in works.enumerated() {
            for c in w.chunks.indices where !w.done.contains(c) {
                queue.append((i, c))
                w.wanted.insert(c)
            }
        }
        var inFlight = 0
        var failure: AgentError?
        var downloaded: Int64 = 0
        var lastSave = monotonicSeconds()
        var summary = ManyFilesLog(verb: "restored", total: works.filter { $0.chunks.count <= 1 }.count, logger: session.logger)
        // The closures below outlive this call's inout access: they work on a copy.
        var working = journal

        func record(_ w: Work) {
            working.files[w.index].chunks = w.done.sorted()
        }

        /// Queues chunks of a file again (first in line), each at most once while queued or in flight.
        func requeue(_ w: Work, _ chunks: Set<Int>) {
            let fresh = chunks.subtracting(w.wanted).sorted()
            guard !fresh.isEmpty else { return }
            w.wanted.formUnion(fresh)
            let workIndex = works.firstIndex { $0 === w } ?? 0
            queue.insert(contentsOf: fresh.map { (workIndex, $0) }, at: 0)
        }

        func save(force: Bool) {
            guard force || monotonicSeconds() - lastSave >= 1 else { return }
            for w in works where !w.finished { record(w) }
            // The journal is durable: the bytes it says are written must be too, first.
            for w in works where w.fd >= 0 && !w.finished {
                if fdatasync(w.fd) != 0 {
                    failure = failure ?? writeFailure("cannot flush \(w.partial)", errno)
                    return
                }
            }
            do {
                try working.save(target: target)
                lastSave = monotonicSeconds()
            } catch {
                failure = failure ?? (error.code == .noSpace ? noSpace(free: Self.freeBytes(target)) : error)
            }
        }

        /// Hashes the chunks that are written and next in order; finishes the file after its last.
        func advance(_ w: Work) {
            do throws(AgentError) {
                while w.frontier < w.chunks.count, w.done.contains(w.frontier) {
                    let (offset, length) = w.chunks[w.frontier]
                    if !w.fetched.contains(w.frontier), try !holds(w, offset: offset, length: length) {
                        // Recorded as written by an earlier run but not in the `.partial` (lost in a power
                        // cut, or the file was removed): this chunk and every later one it wrote are fetched again.
                        let lost = Set((w.frontier..<w.chunks.count).filter { w.done.contains($0) && !w.fetched.contains($0) })
                        warn("\(w.file.path): \(lost.count) range(s) recorded as written are missing from \(w.partial); downloading them again")
                        w.done.subtract(lost)
                        record(w)
                        requeue(w, lost)
                        break
                    }
                    try hash(w, offset: offset, length: length)
                    w.frontier += 1
                }
                // Finished only once no GET of it is in flight: they write through its descriptor.
                if w.frontier == w.chunks.count, !w.finished, w.inFlight == 0 { try finish(w) }
            } catch {
                failure = failure ?? error
            }
        }

        func finish(_ w: Work) throws(AgentError) {
            let fd = try descriptor(w)
            if ftruncate(fd, off_t(w.file.size)) != 0 { throw writeFailure("cannot size \(w.partial)", errno) }
            let mismatched = w.verifier.mismatches
            if mismatched.isEmpty {
                if w.verifier.unchecked > 0 { warn("\(w.file.path): the manifest holds no checksum for it; only its size was checked") }
                if fsync(fd) != 0 { throw writeFailure("cannot flush \(w.partial)", errno) }
                if w.file.encryption != nil, let manifest, let identities,
                    let problem = try RestoreDecryption.decryptInPlace(
                        fd: fd, partial: w.partial, file: w.file, identities: identities, manifest: manifest, vault: session.vault)
                {
                    // Every stored byte matched the manifest, yet a chunk failed authentication: tampered
                    // before the manifest was written, or by someone who rewrote both. Never put in place.
                    reject(w, fd: fd, problem: "it failed decryption: \(problem)")
                    return
                }
                close(fd)
                w.fd = -1
                try makeParents(of: w.file.path, in: target)
                w.finished = true
                working.files[w.index].done = true
                working.files[w.index].chunks = []
                // Large files are recorded at once; small ones with the next save (at most a second
                // later, issue 19): a crash before it only fetches them again.
                save(force: w.chunks.count > 1)
                let final = "\(target)/\(w.file.path)"
                if rename(w.partial, final) != 0 { throw writeFailure("cannot move the restored file into place at \(final)", errno) }
                let line = "\(w.file.path) (\(Units.formatSize(w.file.plaintextSize))\(w.file.encryption != nil ? ", decrypted" : ""))"
                if w.chunks.count > 1 {
                    session.logger.info("restored \(line)")
                } else {
                    summary.add(bytes: w.file.plaintextSize, detail: line)
                }
                return
            }
            let what = w.verifier.segments.count == 1 ? (w.verifier.segments[0].crc32c != nil ? "its CRC-32C" : "its SHA-256") : "the SHA-256 of part(s) \(mismatched.map { String($0 + 1) }.joined(separator: ", "))"
            if w.downloads < 2 {
                // Damaged in transit or on a disk? One more download of the parts that differ.
                warn("\(w.file.path): \(what) differs from the manifest after download; downloading those bytes again")
                w.downloads += 1
                // A chunk overlapping several bad parts is fetched once.
                let again = Self.chunksOverlapping(mismatched.map { w.verifier.segments[$0] }, chunks: w.chunks)
                w.done.subtract(again)
                w.verifier = SegmentVerifier(segments: w.file.segments)
                w.frontier = 0
                record(w)
                requeue(w, again)
                advance(w)
                return
            }
            reject(w, fd: fd, problem: "\(what) differs from the manifest, also after a second download")
        }

        /// Gives up on a file: reported as a mismatch, its download removed, never put in place.
        func reject(_ w: Work, fd: Int32, problem: String) {
            w.problem = problem
            session.logger.error("\(w.file.path): \(problem); not put in place")
            w.finished = true
            close(fd)
            w.fd = -1
            unlink(w.partial)
            working.files[w.index].chunks = []
        }

        func launchMore() {
            while failure == nil, inFlight < session.concurrency, !queue.isEmpty {
                let (workIndex, chunk) = queue.removeFirst()
                let w = works[workIndex]
                let fd: Int32
                do {
                    fd = try descriptor(w)
                } catch {
                    failure = error
                    return
                }
                let (offset, length) = w.chunks[chunk]
                inFlight += 1
                w.inFlight += 1
                session.client.send(session.rangedGet(key: w.key, offset: offset, length: length, sink: .file(fd: fd, offset: offset))) { [self] result, attempts in
                    inFlight -= 1
                    w.inFlight -= 1
                    w.wanted.remove(chunk)
                    switch result {
                    case .success(let response):
                        if let problem = VaultSession.rangeProblem(response, offset: offset, length: length, objectSize: w.file.size) {
                            failure =
                                failure
                                ?? AgentError(
                                    .rejected, "vault \(session.vault) answered a ranged GET of \(w.key) wrongly: \(problem)",
                                    hint: "the endpoint does not serve byte ranges as S3 does; check the vault's endpoint", exit: .failed)
                            break
                        }
                        w.done.insert(chunk)
                        w.fetched.insert(chunk)
                        downloaded += length
                        onProgress?(length)
                        advance(w)
                        save(force: false)
                    case .failure(let f):
                        if let s = f.serviceError, s.status == 404 || s.status == 416 {
                            failure =
                                failure
                                ?? AgentError(
                                    .notFound, "the object \(w.key) of backup \(backup) is missing from vault \(session.vault) or shorter than its manifest says",
                                    hint: "run `agent verify \(backup) --vault \(session.vault)`; restore from another vault if you have one")
                        } else if case .transport(let t) = f, t.writeErrno != 0 {
                            // Our disk, not the vault: a full target is NO_SPACE, never a storage error.
                            failure = failure ?? writeFailure("cannot write \(w.partial)", t.writeErrno)
                        } else {
                            failure = failure ?? session.storageError(S3Error(failure: f, attempts: attempts), action: "s3:GetObject", rerun: "agent restore \(backup)")
                        }
                    }
                    launchMore()
                }
            }
        }

        // Empty files, and the ranges an interrupted run already wrote, are hashed first.
        for w in works { advance(w) }
        launchMore()
        session.http.run(until: { inFlight == 0 && (queue.isEmpty || failure != nil) })
        // Saved (after flushing the `.partial` files) before their descriptors close.
        save(force: true)
        summary.finish()
        for w in works where w.fd >= 0 {
            close(w.fd)
            w.fd = -1
        }
        journal = working
        if session.http.shouldCancel() {
            throw AgentError(
                .interrupted, "interrupted; the restore journal in \(target) keeps what was downloaded",
                hint: "run the same `agent restore \(backup)` again: it continues where it stopped", exit: .tempFail)
        }
        if let failure { throw failure }
        return downloaded
    }

    /// The `.partial` file of a work, opened once (truncated when nothing of it is recorded as written).
    private func descriptor(_ w: Work) throws(AgentError) -> Int32 {
        if w.fd >= 0 { return w.fd }
        var flags = O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW
        if w.done.isEmpty { flags |= O_TRUNC }
        let fd = open(w.partial, flags, 0o600)
        guard fd >= 0 else { throw writeFailure("cannot open \(w.partial)", errno) }
        w.fd = fd
        return fd
    }

    /// The chunks that overlap any of `segments`, each once.
    static func chunksOverlapping(_ segments: [OffsiteManifest.Segment], chunks: [(offset: Int64, length: Int64)]) -> Set<Int> {
        var out: Set<Int> = []
        for segment in segments {
            for (c, chunk) in chunks.enumerated() where chunk.offset < segment.offset + segment.length && chunk.offset + chunk.length > segment.offset {
                out.insert(c)
            }
        }
        return out
    }

    /// Whether the `.partial` holds data for the whole range: it is long enough and, where the
    /// file system tells (`SEEK_HOLE`), has no hole in it.
    private func holds(_ w: Work, offset: Int64, length: Int64) throws(AgentError) -> Bool {
        let fd = try descriptor(w)
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw writeFailure("cannot inspect \(w.partial)", errno) }
        if Int64(st.st_size) < offset + length { return false }
        let seekHole: Int32 = 4  // SEEK_HOLE on Linux
        let hole = lseek(fd, off_t(offset), seekHole)
        if hole < 0 { return errno != ENXIO }  // not supported: the size has to do
        return Int64(hole) >= offset + length
    }

    /// Reads back written bytes and feeds them to the file's verifier.
    private func hash(_ w: Work, offset: Int64, length: Int64) throws(AgentError) {
        let fd = try descriptor(w)
        var buffer = [UInt8](repeating: 0, count: Int(min(length, 1 << 20)))
        var position = offset
        let end = offset + length
        while position < end {
            let want = Int(min(Int64(buffer.count), end - position))
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(position)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw writeFailure("cannot read back \(w.partial)", n < 0 ? errno : EIO) }
            buffer.withUnsafeBytes { w.verifier.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            position += Int64(n)
        }
    }

    // MARK: the target

    /// Refuses a target that holds anything but an interrupted restore of this backup (unless
    /// `force`); creates an absent one. Returns the interrupted restore's journal, if any.
    private func prepareTarget(_ target: String, backup: String, manifest: OffsiteManifest, force: Bool) throws(AgentError) -> RestoreJournal? {
        var st = stat()
        if stat(target, &st) != 0 {
            guard errno == ENOENT else { throw writeFailure("cannot inspect \(target)", errno) }
            guard AtomicFile.makeDirectories(target, mode: 0o700) else { throw writeFailure("cannot create \(target)", errno) }
            return nil
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw AgentError(
                .restoreExists, "the restore target \(target) exists and is not a directory",
                hint: "remove it, or restore elsewhere with `--to DIR`")
        }
        guard let names = DirectoryListing.names(in: target) else { throw writeFailure("cannot list \(target)", errno) }
        if names.isEmpty { return nil }
        // The journal is read from the staging folder: it must be ours before anything in it is trusted.
        try checkStaging("\(target)/\(RestorePaths.stagingName)")
        try RestoreJournal.refuseNewer(target: target)
        if let journal = RestoreJournal.load(target: target), journal.backup == backup { return journal }
        if force {
            warn("the target \(target) already holds \(names.count) entries; --force: restoring over them (files at the backup's paths are replaced)")
            return nil
        }
        let finished = access("\(target)/\(Backup.inProgressMarker)", F_OK) != 0 && !manifest.files.isEmpty
            && manifest.files.allSatisfy { f in
                var fst = stat()
                return lstat("\(target)/\(f.path)", &fst) == 0 && (fst.st_mode & S_IFMT) == S_IFREG && Int64(fst.st_size) == f.plaintextSize
            }
        if finished {
            // A re-run of a restore that finished: say so, rather than call it someone else's files.
            throw AgentError(
                .restoreExists, "the restore target \(target) already holds a finished restore of backup \(backup) (its \(manifest.files.count) files are in place)",
                hint: "nothing to do; to fetch it again, remove \(target) or pass --force, or restore elsewhere with `--to DIR`")
        }
        let sample = names.sorted().prefix(3).joined(separator: ", ")
        throw AgentError(
            .restoreExists, "the restore target \(target) already holds files (\(sample)\(names.count > 3 ? ", …" : "")) that are not an interrupted restore of backup \(backup)",
            hint: "restore into an empty directory with `--to DIR`, remove what is there, or pass --force to write over it")
    }

    /// The staging folder in the target: created with mode 0700, or an existing one accepted
    /// only when it is a real directory (not a symlink) owned by this user.
    private func prepareStaging(_ target: String) throws(AgentError) -> String {
        let staging = "\(target)/\(RestorePaths.stagingName)"
        if mkdir(staging, 0o700) != 0 {
            guard errno == EEXIST else { throw writeFailure("cannot create \(staging)", errno) }
            try checkStaging(staging)
        }
        return staging
    }

    private func checkStaging(_ staging: String) throws(AgentError) {
        var st = stat()
        if lstat(staging, &st) != 0 {
            if errno == ENOENT { return }
            throw writeFailure("cannot inspect \(staging)", errno)
        }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFDIR, st.st_uid == getuid() else {
            throw AgentError(
                .restoreExists,
                "the restore staging folder \(staging) is \(kind == S_IFLNK ? "a symlink" : kind != S_IFDIR ? "not a directory" : "owned by another user (uid \(st.st_uid))"); refusing to write through it",
                hint: "remove \(staging) (it holds only an interrupted restore's journal and partial files), or restore elsewhere with `--to DIR`")
        }
        if st.st_mode & 0o077 != 0, chmod(staging, 0o700) != 0 { throw writeFailure("cannot restrict \(staging) to mode 0700", errno) }
    }

    /// Creates the folders of a relative path inside the target, refusing a symlink or file in the way
    /// (it could lead outside the target).
    private func makeParents(of path: String, in target: String) throws(AgentError) {
        var current = target
        for component in path.split(separator: "/").dropLast() {
            current += "/" + component
            if mkdir(current, 0o700) == 0 { continue }
            guard errno == EEXIST else { throw writeFailure("cannot create \(current)", errno) }
            var st = stat()
            guard lstat(current, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                throw AgentError(
                    .invalidPath, "\(current) is in the way of \(path): it is a symlink or a file, and writing through it could land outside the target",
                    hint: "move it out of the restore target, or restore into an empty directory with `--to DIR`")
            }
        }
    }

    private func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    private func writeFailure(_ what: String, _ code: Int32) -> AgentError {
        if code == ENOSPC || code == EDQUOT { return noSpace(free: Self.freeBytes(spaceTarget.isEmpty ? "." : spaceTarget)) }
        return AgentError(
            .restoreWriteFailed, "\(what): \(String(cString: strerror(code)))",
            hint: "check free space and permissions of the restore target, or restore elsewhere with `--to DIR`", exit: .failed)
    }

    /// The target filled up (or would): what it needs and what it has. Nothing half-written is
    /// ever at a final path: files are renamed into place only once whole and checked.
    private func noSpace(free: Int64?) -> AgentError {
        let freeText = free.map { "\($0) bytes (\(Units.formatSize($0))) free" } ?? "free space unknown"
        return AgentError(
            .noSpace,
            "no space left for restoring into \(spaceTarget): \(bytesStillNeeded) bytes (\(Units.formatSize(bytesStillNeeded))) still to write, \(freeText)",
            hint: "free space on that filesystem, or restore elsewhere with `--to DIR`; a re-run continues where this one stopped",
            exit: .failed)
    }

    /// Bytes an unprivileged writer may still use on the filesystem holding `path`.
    static func freeBytes(_ path: String) -> Int64? {
        var fs = statvfs()
        guard statvfs(path, &fs) == 0 else { return nil }
        let (bytes, overflow) = Int64(clamping: fs.f_bavail).multipliedReportingOverflow(by: Int64(clamping: fs.f_frsize))
        return overflow ? Int64.max : bytes
    }

    private func warn(_ text: String) {
        warnings.append(text)
        session.logger.warning("\(text)")
    }
}
