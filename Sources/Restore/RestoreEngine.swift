import Age
import AgentSupport
import Backups
import HTTPTransport
import S3
import Vault

#if canImport(Glibc)
    import Glibc
#endif

/// Brings an offsite copy back into a directory: several ranged GETs in flight, each written
/// with `pwrite` at its offset into the file's `.partial` (nothing held in memory), every file
/// hashed in order as its ranges arrive and checked against the manifest before it is renamed
/// into place. A journal in the target lets a re-run after a kill continue with the ranges
/// still missing. Runs on the thread of the session's `HTTPClient`.
///
/// An encrypted file is decrypted while it downloads: each range holds whole sealed chunks
/// (`AgeRangePlan`), is authenticated chunk by chunk as it arrives and only its plaintext is
/// written, at its place. No ciphertext is kept: the stored bytes the manifest's hashes cover are
/// hashed as they authenticate when they are next in order, else re-created later by re-sealing
/// the written plaintext with the file's key (the same key, nonce and plaintext give the same
/// bytes), so the manifest check is the one a plain file gets, over the very same bytes.
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
    /// Encrypted files: plaintext read back for re-sealing, and the stored bytes re-created from it.
    private lazy var ageScratch = AgeScratch(chunks: 8)
    private var resealBuffer: UnsafeMutableRawBufferPointer?

    public init(session: VaultSession) {
        self.session = session
    }

    deinit {
        resealBuffer?.deallocate()
    }

    /// One file being restored.
    private final class Work {
        let index: Int
        let file: OffsiteManifest.File
        let key: String
        /// The restore's staging directory: the `.partial` is named by the file's index.
        let staging: String
        var partial: String { "\(staging)/\(index).partial" }
        let chunks: [(offset: Int64, length: Int64)]
        var done: ChunkSet
        /// The running check of the file's bytes: made when its first bytes are hashed and dropped
        /// once it is finished, so only the files in progress hold a digest (issue 19).
        var verifier: SegmentVerifier {
            get {
                if let v = verifierStore { return v }
                let v = SegmentVerifier(segments: file.segments)
                verifierStore = v
                return v
            }
            set { verifierStore = newValue }
        }
        private var verifierStore: SegmentVerifier?
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
        var wanted = ChunkSet()
        /// Chunks written by this run (an earlier run's may have been lost with the page cache).
        var fetched = ChunkSet()
        /// An encrypted file: its ranges of whole sealed chunks, its keys once its header is open,
        /// the ranges in flight, and whether a range that failed authentication was fetched again.
        let plan: AgeRangePlan?
        var keys: AgeFileKeys?
        var receivers: [Int: AgeRangeReceiver] = [:]
        var authRetried = false
        /// A rejected file's descriptor is closed and its `.partial` removed (once nothing is in flight).
        var discarded = false

        init(index: Int, file: OffsiteManifest.File, key: String, staging: String, chunkSize: Int64, done: [Int], plan: AgeRangePlan? = nil) {
            self.index = index
            self.file = file
            self.key = key
            self.staging = staging
            self.plan = plan
            let chunks = plan.map { p in (0..<p.rangeCount).map { p.stored($0) } } ?? VaultSession.chunks(size: file.size, chunkSize: chunkSize)
            self.chunks = chunks
            self.done = ChunkSet(done.filter { $0 >= 0 && $0 < chunks.count })
        }

        /// Finished (restored or rejected): what only a file in progress needs goes.
        func release() {
            verifierStore = nil
            wanted = ChunkSet()
            fetched = ChunkSet()
        }

        /// Where chunk `c`'s bytes are in the `.partial`: the range itself, or its plaintext.
        func written(_ c: Int) -> (offset: Int64, length: Int64) { plan?.plain(c) ?? chunks[c] }

        /// Bytes the finished file has.
        var finalSize: Int64 { plan == nil ? file.size : file.plaintextSize }
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
            guard file.encryption != nil else {
                works.append(Work(index: index, file: file, key: key, staging: staging, chunkSize: chunkSize, done: journal.files[index].chunks))
                continue
            }
            guard let plan = AgeRangePlan(storedSize: file.size, plaintextSize: file.plaintextSize, rangeSize: chunkSize) else {
                let problem = "its manifest entry's sizes (\(file.size) bytes stored, \(file.plaintextSize) decrypted) do not fit an age file"
                session.logger.error("\(file.path): \(problem); not put in place", metadata: ["path": .string(file.path), "key": .string(file.key)])
                results.append(RestoreResult.File(path: file.path, size: file.plaintextSize, status: .mismatch, problem: problem))
                continue
            }
            let w = Work(index: index, file: file, key: key, staging: staging, chunkSize: chunkSize, done: journal.files[index].chunks, plan: plan)
            resumeKeys(w, header: journal.files[index].ageHeader)
            works.append(w)
        }
        let total = manifest.totalBytes
        let alreadyDone = results.reduce(Int64(0)) { $0 + ($1.status == .already ? $1.size : 0) } + works.reduce(Int64(0)) { sum, w in sum + w.done.reduce(Int64(0)) { $0 + w.chunks[$1].length } }
        onStart?(total, alreadyDone)
        // Room for what is still to come, before the first byte of it is fetched: each file's size
        // (an encrypted file's plaintext: nothing else of it is written) less what its `.partial`
        // already occupies (rewritten in place, or truncated and refilled).
        spaceTarget = target
        bytesStillNeeded = works.saturatingSum { w in
            var st = stat()
            let held = lstat(w.partial, &st) == 0 ? Int64(st.st_blocks) * 512 : 0
            return Self.stillNeeded(finalSize: w.finalSize, held: held)
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
        let window = TransferWindow(client: session.client, concurrency: session.concurrency)
        var failure: AgentError?
        var downloaded: Int64 = 0
        var lastSave = monotonicSeconds()
        var summary = ManyFilesLog(verb: "restored", total: works.filter { $0.chunks.count <= 1 }.count, logger: session.logger)
        // The closures below outlive this call's inout access: they work on a copy.
        var working = journal

        func record(_ w: Work) {
            working.files[w.index].chunks = w.done.sorted()
            // A re-run needs the header to decrypt the ranges still missing.
            working.files[w.index].ageHeader = w.done.isEmpty || w.chunks.count < 2 ? nil : w.keys?.headerAndNonce
        }

        /// Queues chunks of a file again (first in line), each at most once while queued or in flight.
        func requeue(_ w: Work, _ chunks: Set<Int>) {
            let fresh = chunks.subtracting(w.wanted).sorted()
            guard !fresh.isEmpty else { return }
            w.wanted.formUnion(fresh)
            let workIndex = works.firstIndex { $0 === w } ?? 0
            queue.insert(contentsOf: fresh.map { (workIndex, $0) }, at: 0)
        }

        // Rewriting the journal costs in proportion to the backup's files: it waits at least a second
        // and 50 times its last rewrite's duration, so at most ~2% of a long restore of many small
        // files goes to it and the total stays linear (issue 19). A crash in between only fetches
        // the files finished since again.
        var saveInterval = 1.0
        func save(force: Bool) {
            let began = monotonicSeconds()
            guard force || began - lastSave >= saveInterval else { return }
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
                saveInterval = max(1, 50 * (lastSave - began))
            } catch {
                failure = failure ?? (error.code == .noSpace ? noSpace(free: Self.freeBytes(target)) : error)
            }
        }

        /// Recorded as written by an earlier run but not in the `.partial` (lost in a power cut, or
        /// the file was removed): chunk `from` and every later one that run wrote are fetched again.
        func refetchLost(_ w: Work, from: Int) {
            let lost = Set((from..<w.chunks.count).filter { w.done.contains($0) && !w.fetched.contains($0) })
            warn("\(w.file.path): \(lost.count) range(s) recorded as written are missing from \(w.partial); downloading them again")
            w.done.subtract(lost)
            record(w)
            requeue(w, lost)
        }

        /// Hashes the chunks that are written and next in order; finishes the file after its last.
        func advance(_ w: Work) {
            guard !w.finished else { return }
            do throws(AgentError) {
                if let plan = w.plan {
                    try advanceSealed(w, plan)
                    return
                }
                while w.frontier < w.chunks.count, w.done.contains(w.frontier) {
                    let (offset, length) = w.chunks[w.frontier]
                    if !w.fetched.contains(w.frontier), try !holds(w, offset: offset, length: length) {
                        refetchLost(w, from: w.frontier)
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

        /// An encrypted file: hashes the stored bytes next in order that authenticated but were not
        /// hashed as they arrived (their range came ahead of an earlier one, or in an earlier run),
        /// re-created by re-sealing their plaintext from the `.partial`.
        func advanceSealed(_ w: Work, _ plan: AgeRangePlan) throws(AgentError) {
            while !w.verifier.isComplete, let keys = w.keys {
                let position = w.verifier.position
                let r = plan.range(containing: position)
                let end: Int64
                if w.done.contains(r) {
                    let p = plan.plain(r)
                    if !w.fetched.contains(r), try !holds(w, offset: p.offset, length: p.length) {
                        refetchLost(w, from: r)
                        break
                    }
                    end = plan.stored(r).offset + plan.stored(r).length
                } else if let receiver = w.receivers[r], receiver.written > position {
                    end = receiver.written
                } else {
                    break
                }
                try reseal(w, keys: keys, from: position, to: end)
            }
            if w.verifier.isComplete, !w.finished, w.inFlight == 0 { try finish(w) }
        }

        func finish(_ w: Work) throws(AgentError) {
            let fd = try descriptor(w)
            if ftruncate(fd, off_t(w.finalSize)) != 0 { throw writeFailure("cannot size \(w.partial)", errno) }
            let mismatched = w.verifier.mismatches
            if mismatched.isEmpty {
                if w.verifier.unchecked > 0 { warn("\(w.file.path): the manifest holds no checksum for it; only its size was checked") }
                if fsync(fd) != 0 { throw writeFailure("cannot flush \(w.partial)", errno) }
                close(fd)
                w.fd = -1
                try makeParents(of: w.file.path, in: target)
                w.finished = true
                w.release()
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
            reject(w, problem: "\(what) differs from the manifest, also after a second download")
        }

        /// Gives up on a file: reported as a mismatch, its download removed (once no GET of it is
        /// in flight), never put in place.
        func reject(_ w: Work, problem: String) {
            w.problem = problem
            session.logger.error("\(w.file.path): \(problem); not put in place", metadata: ["path": .string(w.file.path), "key": .string(w.key)])
            w.finished = true
            queue.removeAll { works[$0.work] === w }
            w.wanted = ChunkSet()
            for receiver in w.receivers.values { receiver.cancelled = true }
            working.files[w.index].chunks = []
            working.files[w.index].ageHeader = nil
            discardIfIdle(w)
        }

        func discardIfIdle(_ w: Work) {
            guard w.problem != nil, w.inFlight == 0, !w.discarded else { return }
            w.discarded = true
            w.release()
            if w.fd >= 0 { close(w.fd) }
            w.fd = -1
            unlink(w.partial)
        }

        /// An encrypted range that did not authenticate: fetched once more (damaged in transit?),
        /// then the file is given up. An identity that opens no header stops the restore.
        func rangeFailedDecryption(_ w: Work, range: Int, _ problem: AgeError) {
            if problem == .noMatch {
                if let manifest { failure = failure ?? RestoreDecryption.mismatch(manifest, path: w.file.path, vault: session.vault) }
                return
            }
            let bytes = w.chunks[range]
            if !w.authRetried {
                w.authRetried = true
                warn("\(w.file.path): bytes \(bytes.offset)-\(bytes.offset + bytes.length - 1) of its stored object failed decryption (\(problem)); downloading them again")
                requeue(w, [range])
                return
            }
            // Tampered (or rewritten together with the manifest): never put in place.
            reject(w, problem: "it failed decryption: \(problem) (bytes \(bytes.offset)-\(bytes.offset + bytes.length - 1) of its stored object, also after a second download)")
        }

        func launchMore() {
            var next = 0
            while failure == nil, window.hasRoom, next < queue.count {
                let (workIndex, chunk) = queue[next]
                let w = works[workIndex]
                // An encrypted file's later ranges wait for its header (in its first range).
                if w.plan != nil, chunk != 0, w.keys == nil {
                    next += 1
                    continue
                }
                queue.remove(at: next)
                let fd: Int32
                do {
                    fd = try descriptor(w)
                } catch {
                    failure = error
                    return
                }
                let (offset, length) = w.chunks[chunk]
                w.inFlight += 1
                var sink = ResponseSink.file(fd: fd, offset: offset)
                if let plan = w.plan, let identities {
                    let receiver = AgeRangeReceiver(
                        range: chunk, plan: plan, fd: fd, keys: w.keys,
                        openKeys: { [unowned self, unowned w] head in
                            let opened = openKeys(w, head, identities: identities)
                            if case .success(let keys) = opened, w.keys == nil {
                                w.keys = keys
                                // The ranges waiting for it start from the loop, not from libcurl's callback.
                                session.http.after(0) { launchMore() }
                            }
                            return opened
                        },
                        authenticated: { [unowned w] offset, bytes in
                            // Next in order: hashed now, never re-created later.
                            if w.verifier.position == offset { w.verifier.update(bytes) }
                        })
                    w.receivers[chunk] = receiver
                    sink = .stream(receiver)
                }
                window.send(session.rangedGet(key: w.key, offset: offset, length: length, sink: sink)) { [self] result, attempts in
                    w.inFlight -= 1
                    w.wanted.remove(chunk)
                    let receiver = w.receivers.removeValue(forKey: chunk)
                    switch result {
                    case _ where w.problem != nil:
                        // Given up meanwhile: its `.partial` goes once its last GET is back.
                        discardIfIdle(w)
                    case .success(let response):
                        if let problem = VaultSession.rangeProblem(response, offset: offset, length: length, objectSize: w.file.size) {
                            failure =
                                failure
                                ?? AgentError(
                                    .rejected, "vault \(session.vault) answered a ranged GET of \(w.key) wrongly: \(problem)",
                                    hint: "the endpoint does not serve byte ranges as S3 does; check the vault's endpoint", exit: .failed)
                            break
                        }
                        if let problem = receiver?.problem {
                            rangeFailedDecryption(w, range: chunk, problem)
                            advance(w)
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
                }
            }
            if failure == nil, window.inFlight == 0, !window.isCancelled, !queue.isEmpty, next == queue.count {
                // Only ranges waiting for a header no GET is fetching: never wait for nothing.
                failure = AgentError(
                    .rejected, "the restore of backup \(backup) stopped: ranges of encrypted files wait for a header that is not being downloaded",
                    hint: "run the same `agent restore \(backup)` again; report this if it recurs")
            }
        }

        // Empty files, and the ranges an interrupted run already wrote, are hashed first.
        for w in works { advance(w) }
        window.fill = launchMore
        window.run(until: { queue.isEmpty || failure != nil })
        window.fill = {}  // it captured the window: no cycle outlives the restore
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

    // MARK: encrypted files

    /// An encrypted file continued from the journal: the ranges an earlier run wrote are kept only
    /// when the journal's copy of its header opens with the identities and fits the manifest.
    private func resumeKeys(_ w: Work, header: [UInt8]?) {
        guard !w.done.isEmpty else { return }
        if let header, let identities, case .success(let keys) = openKeys(w, header, identities: identities) {
            w.keys = keys
            return
        }
        let why = header == nil ? "the interrupted run kept it encrypted (an older agent)" : "the journal's copy of its header does not open"
        warn("\(w.file.path): the interrupted restore of it cannot be continued (\(why)); downloading it again")
        w.done = []
    }

    /// Opens an encrypted file's header and nonce; its re-sealing reads the plaintext back from its `.partial`.
    private func openKeys(_ w: Work, _ headerAndNonce: [UInt8], identities: [AgeIdentity]) -> Result<AgeFileKeys, AgeError> {
        guard let plan = w.plan else { return .failure(.header("the file is not encrypted")) }
        return AgeFileKeys.open(headerAndNonce, identities: identities, plan: plan, scratch: ageScratch) { [unowned self, unowned w] offset, buffer in
            let fd = try descriptor(w)
            while true {
                let n = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
                if n >= 0 { return n }
                if errno != EINTR { throw writeFailure("cannot read back \(w.partial)", errno) }
            }
        }
    }

    /// Feeds the file's verifier its stored bytes `from..<end`, re-created from the plaintext
    /// written (authenticated when it arrived) with the file's key, header and nonce.
    private func reseal(_ w: Work, keys: AgeFileKeys, from: Int64, to end: Int64) throws(AgentError) {
        let buffer = resealBuffer ?? UnsafeMutableRawBufferPointer.allocate(byteCount: 8 * AgeStream.sealedChunkSize, alignment: 16)
        resealBuffer = buffer
        var position = from
        while position < end {
            let want = Int(min(Int64(buffer.count), end - position))
            let n: Int
            do {
                n = try keys.encryptor.read(at: position, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
            } catch let error as AgentError {
                throw error
            } catch {
                throw writeFailure("cannot read back \(w.partial): it is shorter than what was written to it", EIO)
            }
            guard n > 0 else { throw writeFailure("cannot read back \(w.partial)", EIO) }
            w.verifier.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            position += Int64(n)
        }
    }

    /// Bytes a file still needs in the target: its final size (an encrypted file's plaintext, as
    /// nothing else of it is written) less what its `.partial` already holds.
    static func stillNeeded(finalSize: Int64, held: Int64) -> Int64 { max(0, finalSize - held) }

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
