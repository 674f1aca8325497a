import Age
import AgentSupport
import Backups
import HTTPTransport
import Logging
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
    /// Bytes of ranges accepted this run (the restore's `bytes_downloaded`): what NO_SPACE says is
    /// still to write shrinks with them.
    private var downloaded: Int64 = 0
    /// Encrypted files: plaintext read back for re-sealing, and the stored bytes re-created from it.
    private lazy var ageScratch = AgeScratch(chunks: 8)
    private var resealBuffer: UnsafeMutableRawBufferPointer?

    public init(session: VaultSession) {
        self.session = session
    }

    deinit {
        resealBuffer?.deallocate()
    }

    /// One file being restored: its state machine (which ranges are wanted, in flight, written,
    /// hashed; what happens next) and the I/O objects the engine drives for it.
    private final class Work {
        let index: Int
        let file: OffsiteManifest.File
        let key: String
        /// The restore's staging directory: the `.partial` is named by the file's index.
        let staging: String
        var partial: String { "\(staging)/\(index).partial" }
        let chunks: [(offset: Int64, length: Int64)]
        var machine: RestoreFileStateMachine
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
        var fd: Int32 = -1
        /// Why it was not put in place.
        var problem: String?
        /// An encrypted file: its ranges of whole sealed chunks, its keys once its header is open,
        /// and the receivers of its ranges in flight.
        let plan: AgeRangePlan?
        var keys: AgeFileKeys?
        var receivers: [Int: AgeRangeReceiver] = [:]

        init(index: Int, file: OffsiteManifest.File, key: String, staging: String, chunkSize: Int64, done: [Int], plan: AgeRangePlan? = nil) {
            self.index = index
            self.file = file
            self.key = key
            self.staging = staging
            self.plan = plan
            let chunks = plan.map { p in (0..<p.rangeCount).map { p.stored($0) } } ?? VaultSession.chunks(size: file.size, chunkSize: chunkSize)
            self.chunks = chunks
            machine = RestoreFileStateMachine(rangeCount: chunks.count, encrypted: plan != nil, recorded: done)
        }

        /// Finished (restored or rejected): what only a file in progress needs goes (the
        /// machine's settled states hold no ranges).
        func release() {
            verifierStore = nil
            keys = nil
            receivers = [:]
        }

        /// Where chunk `c`'s bytes are in the `.partial`: the range itself, or its plaintext.
        func written(_ c: Int) -> (offset: Int64, length: Int64) { plan?.plain(c) ?? chunks[c] }

        /// Bytes the finished file has.
        var finalSize: Int64 { plan == nil ? file.size : file.plaintextSize }

        /// swift-log metadata of the file's log lines.
        func metadata(backup: String) -> Logger.Metadata { ["path": .string(file.path), "key": .string(key), "backup": .string(backup)] }
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
                session.logger.info("continuing the interrupted restore of backup \(backup) into \(target)", metadata: ["backup": .string(backup)])
            } else {
                warn("the interrupted restore in \(target) belongs to another version of backup \(backup)'s manifest; starting over", metadata: ["backup": .string(backup)])
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
                    // Checked and complete, but its place is taken (a directory) or closed to us:
                    // downloading it again would not help. It stays, for the run after the fix.
                    throw writeFailure("cannot move the restored file into place at \(final)", errno)
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
                session.logger.error("\(file.path): \(problem); not put in place", metadata: ["path": .string(file.path), "key": .string(key), "backup": .string(backup)])
                results.append(RestoreResult.File(path: file.path, size: file.plaintextSize, status: .mismatch, problem: problem))
                continue
            }
            let w = Work(index: index, file: file, key: key, staging: staging, chunkSize: chunkSize, done: journal.files[index].chunks, plan: plan)
            resumeKeys(w, header: journal.files[index].ageHeader, backup: backup)
            works.append(w)
        }
        let total = manifest.totalBytes
        let alreadyDone = results.reduce(Int64(0)) { $0 + ($1.status == .already ? $1.size : 0) } + works.reduce(Int64(0)) { sum, w in sum + w.machine.journalRanges.reduce(Int64(0)) { $0 + w.chunks[$1].length } }
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
        if let free = StorageErrors.freeBytes(staging), free < bytesStillNeeded {
            throw StorageErrors.noSpace(StorageErrors.WriteTarget(directory: target, bytesNeeded: bytesStillNeeded, bytesFree: free))
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
                "Restored: \(results.count) files, \(total) bytes (\(Units.formatSize(total))) of backup \(backup) into \(target); downloaded \(Units.formatSize(downloaded)) in \(Units.formatDuration(seconds)) (\(Units.formatSize(rate))/s)",
                metadata: Units.transferredMetadata(files: results.count, bytes: total, seconds: seconds, rate: rate).merging([
                    "backup": .string(backup), "target": .string(target), "downloaded": .stringConvertible(downloaded),
                ]) { $1 })
        }
        return result
    }

    // MARK: transfers

    /// Downloads every missing chunk, several in flight, and finishes each file as its last chunk
    /// lands. Each file's decisions are its `RestoreFileStateMachine`'s; this is the I/O driver:
    /// the ranged GETs (`TransferWindow`), reading back and hashing, flushing, renaming, the journal.
    private func run(_ works: [Work], journal: inout RestoreJournal, target: String, backup: String) throws(AgentError) -> Int64 {
        var queue: [(work: Int, chunk: Int)] = []
        downloaded = 0
        for (i, w) in works.enumerated() {
            for c in w.machine.start() { queue.append((i, c)) }
        }
        let window = TransferWindow(client: session.client, concurrency: session.concurrency)
        var failure: AgentError?
        var lastSave = monotonicSeconds()
        var summary = ManyFilesLog(verb: "restored", total: works.filter { $0.chunks.count <= 1 }.count, logger: session.logger)
        // The closures below outlive this call's inout access: they work on a copy.
        var working = journal

        func record(_ w: Work) {
            working.files[w.index].chunks = w.machine.journalRanges
            // A re-run needs the header to decrypt the ranges still missing.
            working.files[w.index].ageHeader = w.machine.journalKeepsHeader ? w.keys?.headerAndNonce : nil
        }

        // Rewriting the journal costs in proportion to the backup's files: it waits at least a second
        // and 50 times its last rewrite's duration, so at most ~2% of a long restore of many small
        // files goes to it and the total stays linear (issue 19). A crash in between only fetches
        // the files finished since again.
        var saveInterval = 1.0
        func save(force: Bool) {
            let began = monotonicSeconds()
            guard force || began - lastSave >= saveInterval else { return }
            for w in works where !w.machine.isSettled { record(w) }
            // The journal is durable: the bytes it says are written must be too, first.
            for w in works where w.fd >= 0 && !w.machine.isSettled {
                if fdatasync(w.fd) != 0 {
                    failure = failure ?? writeFailure("cannot flush \(w.partial)", errno)
                    return
                }
            }
            do {
                try working.save(target: target, space: space())
                lastSave = monotonicSeconds()
                saveInterval = max(1, 50 * (lastSave - began))
            } catch {
                failure = failure ?? error
            }
        }

        /// Does what a file's machine asks for next.
        func perform(_ w: Work, _ action: RestoreFileStateMachine.Action) {
            switch action {
            case .none:
                return
            case .hashNext:
                advance(w)
            case .refetch(let ranges, let why, let restartHashing):
                warn(refetchText(w, why), metadata: w.metadata(backup: backup))
                record(w)
                let workIndex = works.firstIndex { $0 === w } ?? 0
                queue.insert(contentsOf: ranges.map { (workIndex, $0) }, at: 0)
                if restartHashing {
                    w.verifier = SegmentVerifier(segments: w.file.segments)
                    advance(w)
                }
            case .verify:
                do throws(AgentError) { try verify(w) } catch { failure = failure ?? error }
            case .install:
                do throws(AgentError) { try install(w) } catch { failure = failure ?? error }
            case .reject(let why, let discardNow):
                let problem = rejectionText(w, why)
                w.problem = problem
                session.logger.error("\(w.file.path): \(problem); not put in place", metadata: w.metadata(backup: backup))
                queue.removeAll { works[$0.work] === w }
                for receiver in w.receivers.values { receiver.cancelled = true }
                working.files[w.index].chunks = []
                working.files[w.index].ageHeader = nil
                if discardNow { discard(w) }
            case .discard:
                discard(w)
            case .stopRestore(let why):
                failure = failure ?? stopError(w, why, backup: backup)
            }
        }

        /// Hashes the chunks that are written and next in order; finishes the file after its last.
        func advance(_ w: Work) {
            do throws(AgentError) {
                if let plan = w.plan {
                    try advanceSealed(w, plan)
                    return
                }
                while true {
                    switch w.machine.nextToHash() {
                    case .wait:
                        return
                    case .complete:
                        perform(w, w.machine.allHashed())
                        return
                    case .hash(let c, let checkOnDisk):
                        let (offset, length) = w.chunks[c]
                        if checkOnDisk, try !holds(w, offset: offset, length: length) {
                            perform(w, w.machine.lostOnDisk(from: c))
                            return
                        }
                        try hash(w, offset: offset, length: length)
                        w.machine.hashed(c)
                    }
                }
            } catch {
                failure = failure ?? error
            }
        }

        /// An encrypted file: hashes the stored bytes next in order that authenticated but were not
        /// hashed as they arrived (their range came ahead of an earlier one, or in an earlier run),
        /// re-created by re-sealing their plaintext from the `.partial`.
        func advanceSealed(_ w: Work, _ plan: AgeRangePlan) throws(AgentError) {
            guard w.machine.progress != nil else { return }
            while !w.verifier.isComplete, let keys = w.keys {
                let position = w.verifier.position
                let r = plan.range(containing: position)
                let end: Int64
                switch w.machine.written(r) {
                case .thisRun, .earlierRun:
                    let p = plan.plain(r)
                    if w.machine.written(r) == .earlierRun, try !holds(w, offset: p.offset, length: p.length) {
                        perform(w, w.machine.lostOnDisk(from: r))
                        return
                    }
                    end = plan.stored(r).offset + plan.stored(r).length
                case .no:
                    guard let receiver = w.receivers[r], receiver.written > position else { return }
                    end = receiver.written
                }
                try reseal(w, keys: keys, from: position, to: end)
            }
            if w.verifier.isComplete { perform(w, w.machine.allHashed()) }
        }

        /// Every byte hashed, nothing in flight: the digest decides.
        func verify(_ w: Work) throws(AgentError) {
            let fd = try descriptor(w)
            if ftruncate(fd, off_t(w.finalSize)) != 0 { throw writeFailure("cannot size \(w.partial)", errno) }
            let mismatched = w.verifier.mismatches
            if mismatched.isEmpty {
                if w.verifier.unchecked > 0 { warn("\(w.file.path): the manifest holds no checksum for it; only its size was checked", metadata: w.metadata(backup: backup)) }
                perform(w, w.machine.digestChecked(.matches))
                return
            }
            let what =
                w.verifier.segments.count == 1
                ? (w.verifier.segments[0].crc32c != nil ? "its CRC-32C" : "its SHA-256") : "the SHA-256 of part(s) \(mismatched.map { String($0 + 1) }.joined(separator: ", "))"
            // A chunk overlapping several bad parts is fetched once.
            let again = Self.chunksOverlapping(mismatched.map { w.verifier.segments[$0] }, chunks: w.chunks)
            perform(w, w.machine.digestChecked(.differs(ranges: again, what: what)))
        }

        /// Checked: flushed, recorded done, renamed into place.
        func install(_ w: Work) throws(AgentError) {
            let fd = try descriptor(w)
            if fsync(fd) != 0 { throw writeFailure("cannot flush \(w.partial)", errno) }
            close(fd)
            w.fd = -1
            try makeParents(of: w.file.path, in: target)
            w.release()
            working.files[w.index].done = true
            working.files[w.index].chunks = []
            working.files[w.index].ageHeader = nil
            // Large files are recorded at once; small ones with the next save (at most a second
            // later, issue 19): a crash before it only fetches them again.
            save(force: w.chunks.count > 1)
            let final = "\(target)/\(w.file.path)"
            if rename(w.partial, final) != 0 { throw writeFailure("cannot move the restored file into place at \(final)", errno) }
            w.machine.installed()
            let line = "\(w.file.path) (\(Units.formatSize(w.file.plaintextSize))\(w.file.encryption != nil ? ", decrypted" : ""))"
            if w.chunks.count > 1 {
                session.logger.info("restored \(line)", metadata: w.metadata(backup: backup))
            } else {
                summary.add(bytes: w.file.plaintextSize, detail: line, metadata: w.metadata(backup: backup))
            }
        }

        /// A rejected file's `.partial` goes once no GET of it is in flight.
        func discard(_ w: Work) {
            w.release()
            if w.fd >= 0 { close(w.fd) }
            w.fd = -1
            unlink(w.partial)
        }

        func launchMore() {
            var next = 0
            while failure == nil, window.hasRoom, next < queue.count {
                let (workIndex, chunk) = queue[next]
                let w = works[workIndex]
                // An encrypted file's later ranges wait for its header (in its first range).
                guard w.machine.mayLaunch(chunk) else {
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
                w.machine.rangeLaunched(chunk)
                var sink = ResponseSink.file(fd: fd, offset: offset)
                if let plan = w.plan, let identities {
                    let receiver = AgeRangeReceiver(
                        range: chunk, plan: plan, fd: fd, keys: w.keys,
                        openKeys: { [unowned self, unowned w] head in
                            let opened = openKeys(w, head, identities: identities)
                            if case .success(let keys) = opened, w.keys == nil {
                                w.keys = keys
                                w.machine.headerOpened()
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
                    let receiver = w.receivers.removeValue(forKey: chunk)
                    switch result {
                    case .success(let response):
                        if let problem = VaultSession.rangeProblem(response, offset: offset, length: length, objectSize: w.file.size) {
                            perform(w, w.machine.rangeFailed(chunk, .wrongAnswer(problem)))
                        } else if let problem = receiver?.problem {
                            perform(w, w.machine.rangeFailedDecryption(chunk, problem))
                            advance(w)
                        } else {
                            let counted = !w.machine.isGivenUp
                            let action = w.machine.rangeArrived(chunk, etag: response.header("ETag"))
                            if counted {
                                downloaded += length
                                onProgress?(length)
                            }
                            perform(w, action)
                            save(force: false)
                        }
                    case .failure(let f):
                        let why: RestoreFileStateMachine.RangeFailure
                        if let s = f.serviceError, s.status == 404 || s.status == 416 {
                            why = .missing
                        } else if case .transport(let t) = f, t.writeErrno != 0 {
                            // Our disk, not the vault: a full target is NO_SPACE, never a storage error.
                            why = .diskWrite(errno: t.writeErrno)
                        } else {
                            why = .vault(session.storageError(S3Error(failure: f, attempts: attempts), action: "s3:GetObject", rerun: "agent restore \(backup)"))
                        }
                        perform(w, w.machine.rangeFailed(chunk, why))
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
        // Nothing more is fetched or put in place: what is written stays recorded.
        if failure != nil || window.isCancelled {
            for w in works { w.machine.cancelled() }
        }
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

    /// The warning of a file's ranges fetched again.
    private func refetchText(_ w: Work, _ why: RestoreFileStateMachine.Refetch) -> String {
        switch why {
        case .lostOnDisk(let count):
            return "\(w.file.path): \(count) range(s) recorded as written are missing from \(w.partial); downloading them again"
        case .digestDiffers(let what):
            return "\(w.file.path): \(what) differs from the manifest after download; downloading those bytes again"
        case .decryptionFailed(let range, let problem):
            let bytes = w.chunks[range]
            return "\(w.file.path): bytes \(bytes.offset)-\(bytes.offset + bytes.length - 1) of its stored object failed decryption (\(problem)); downloading them again"
        }
    }

    /// Why a file is not put in place, in the words of the report.
    private func rejectionText(_ w: Work, _ why: RestoreFileStateMachine.Rejection) -> String {
        switch why {
        case .digestDiffers(let what, let replaced):
            let changed = replaced.map { " (its object was replaced in the vault during the restore: ETag \($0.from), then \($0.to))" } ?? ""
            return "\(what) differs from the manifest, also after a second download\(changed)"
        case .decryptionFailed(let range, let problem):
            let bytes = w.chunks[range]
            return "it failed decryption: \(problem) (bytes \(bytes.offset)-\(bytes.offset + bytes.length - 1) of its stored object, also after a second download)"
        }
    }

    /// The failure a range's GET stops the restore with.
    private func stopError(_ w: Work, _ why: RestoreFileStateMachine.RangeFailure, backup: String) -> AgentError {
        switch why {
        case .missing:
            return AgentError(
                .notFound, "the object \(w.key) of backup \(backup) is missing from vault \(session.vault) or shorter than its manifest says",
                hint: "run `agent verify \(backup) --vault \(session.vault)`; restore from another vault if you have one")
        case .wrongAnswer(let problem):
            return AgentError(
                .rejected, "vault \(session.vault) answered a ranged GET of \(w.key) wrongly: \(problem)",
                hint: "the endpoint does not serve byte ranges as S3 does; check the vault's endpoint", exit: .failed)
        case .diskWrite(let code):
            return writeFailure("cannot write \(w.partial)", code)
        case .vault(let error):
            return error
        case .identityMismatch:
            return RestoreDecryption.mismatch(manifest ?? OffsiteManifest(backup: backup, host: "", files: []), path: w.file.path, vault: session.vault)
        }
    }

    // MARK: encrypted files

    /// An encrypted file continued from the journal: the ranges an earlier run wrote are kept only
    /// when the journal's copy of its header opens with the identities and fits the manifest.
    private func resumeKeys(_ w: Work, header: [UInt8]?, backup: String) {
        guard !(w.machine.progress?.done.isEmpty ?? true) else { return }
        if let header, let identities, case .success(let keys) = openKeys(w, header, identities: identities) {
            w.keys = keys
            _ = w.machine.recordedHeader(opens: true)
            return
        }
        guard w.machine.recordedHeader(opens: false) else { return }
        let why = header == nil ? "the interrupted run kept it encrypted (an older agent)" : "the journal's copy of its header does not open"
        warn("\(w.file.path): the interrupted restore of it cannot be continued (\(why)); downloading it again", metadata: w.metadata(backup: backup))
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
        if w.machine.progress?.done.isEmpty ?? true { flags |= O_TRUNC }
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
            warn("the target \(target) already holds \(names.count) entries; --force: restoring over them (files at the backup's paths are replaced)", metadata: ["backup": .string(backup)])
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

    /// The target and what the restore still has to write, for NO_SPACE: what was needed at the
    /// start less the ranges accepted since (an encrypted range counts its stored bytes, a little
    /// more than the plaintext written).
    private func space() -> StorageErrors.WriteTarget {
        StorageErrors.WriteTarget(directory: spaceTarget, bytesNeeded: max(0, bytesStillNeeded - downloaded), bytesFree: StorageErrors.freeBytes(spaceTarget.isEmpty ? "." : spaceTarget))
    }

    private func writeFailure(_ what: String, _ code: Int32) -> AgentError {
        StorageErrors.writeFailure(what, errno: code, target: spaceTarget.isEmpty ? nil : space())
    }

    private func warn(_ text: String, metadata: Logger.Metadata? = nil) {
        warnings.append(text)
        session.logger.warning("\(text)", metadata: metadata)
    }
}
