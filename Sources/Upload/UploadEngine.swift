import Age
import AgentSupport
import Backups
import HTTPTransport
import Hashing
import Logging
import Providers
import S3
import SigV4
import Vault

#if canImport(Glibc)
    import Glibc
#endif

/// Sends one backup to one vault: journal first, then each file (single PUT or multipart with
/// several parts in flight), each verified, then `backup.json`, then the offsite manifest.
/// Resumes an unfinished journal entry instead of starting over. Runs on one thread.
public final class UploadEngine {
    public let target: UploadTarget
    public let client: S3Client
    /// The vault as every command reaches it: client, retries, bandwidth share.
    let session: VaultSession
    let http: HTTPClient
    let journal: Journal
    /// The session's logger: every event names the vault, and during `upload(backup:)` the backup (metadata).
    var logger: Logger
    /// Hashes here, on the transfer thread, only what resuming needs (a part's MD5 or CRC
    /// read again); every body's digests come from `digestPool`.
    lazy var hasher = RegionHasher()
    /// Computes each body's digests ahead of its send, off this thread (issue 17).
    public var digestPool: DigestPool = .shared
    /// Plaintext buffer for sealing whole age chunks (encrypting vaults; allocated on first use).
    lazy var ageScratch = AgeScratch()
    /// Set when the bucket demanded Content-MD5 (Object Lock): every later PUT carries it.
    var forceContentMD5 = false
    /// Object Lock: the earliest verified retention among the objects written in this run.
    var lockedUntil: (mode: String, retainUntil: Int64)?
    var warnings: [String] = []
    var bytesSent: Int64 = 0
    /// The entry's append-only log while this engine works on it; records since the last snapshot.
    var log: JournalLogWriter?
    var recordsSinceSnapshot = 0
    /// Requests retried and stalls cut in this run (metrics).
    public var retries: Int { session.retries }
    public var stalls: Int { session.stalls }
    /// Called with bytes newly confirmed by the server.
    public var onProgress: ((_ bytes: Int64) -> Void)?
    /// Called with bytes an earlier run already stored (a resumed upload): progress, not rate.
    public var onAlreadyHeld: ((_ bytes: Int64) -> Void)?
    public var agentVersion = "0"
    /// Shared with the other vaults of a multi-vault upload: each region is hashed once.
    public var digestCache: DigestCache?

    public init(target: UploadTarget, journal: Journal, http: HTTPClient, logger: Logger, retryBaseDelay: Double = 0.5) {
        self.target = target
        self.http = http
        self.journal = journal
        session = VaultSession(endpoint: target.endpoint, http: http, logger: logger, retryBaseDelay: retryBaseDelay)
        client = session.client
        // The session's logger: every event names the vault (metadata).
        self.logger = session.logger
    }

    var bucket: String { target.location.bucket }

    // MARK: backup

    public func upload(backup: Backup, force: Bool) throws(AgentError) -> UploadResult {
        let started = monotonicSeconds()
        logger[metadataKey: "backup"] = .string(backup.id)
        // Fail closed: a vault that asks for Object Lock sends nothing to a bucket without it.
        if let lock = target.objectLock { try lock.preflight(client, logger: logger) }
        try journal.prepare()
        let id = Journal.entryID(backup: backup.id, vault: target.vault, singleFilePath: backup.singleFile ? backup.files.first?.relativePath : nil)
        guard let lock = journal.lock(id) else {
            throw AgentError(
                .locked, "another agent is uploading backup \(backup.id) to vault \(target.vault) right now",
                hint: "wait for it to finish (`agent status`); nothing was sent by this run")
        }
        defer { withExtendedLifetime(lock) {} }

        var entry: JournalEntry
        var resumed = false
        // A completed entry this attempt replaces: put back if the attempt fails before it sent
        // anything (a wrong port or bucket must not turn a finished upload into an interrupted one).
        var replaced: JournalEntry?
        let loaded = journal.load(id)
        let start = UploadStart.decide(
            loaded, force: force, singleFile: backup.singleFile, pointsHere: pointsHere,
            unchanged: { $0.files.map(\.identity) == backup.allFiles.map(\.identity) })
        switch start {
        case .retargeted(let checkManifest, let abort):
            // The offsite manifest decides first whether the backup is already complete here.
            if checkManifest, try offsiteManifestExists(backup: backup) {
                return alreadyOffsite(backup: backup, id: id, started: started)
            }
            warn("vault \(target.vault) now points to another bucket, endpoint or prefix than the interrupted upload \(id); starting this upload afresh")
            if case .entry(let old) = loaded { abortWhereRecorded(old, abort) }
            entry = newEntry(id: id, backup: backup)
        case .resume(let existing):
            entry = existing
            resumed = true
            let limit = target.bandwidthLimit > 0 ? "bandwidth limit \(Units.formatSize(target.bandwidthLimit))/s" : "no bandwidth limit"
            logger.info(
                "resuming upload \(id) of backup \(backup.id) to vault \(target.vault) (\(Units.formatSize(existing.bytesDone)) of \(Units.formatSize(existing.bytesTotal)) already sent; \(limit), concurrency \(target.concurrency))",
                metadata: [
                    "operation": "resume", "upload": .string(id), "bytes_done": .stringConvertible(existing.bytesDone), "bytes": .stringConvertible(existing.bytesTotal),
                    "concurrency": .stringConvertible(target.concurrency),
                ])
            try reconcileSources(&entry, with: backup)
            onAlreadyHeld?(entry.files.filter { $0.state == .done }.reduce(Int64(0)) { $0 + $1.identity.size })
        case .replaceCompleted(let done, let checkManifest):
            if checkManifest, try offsiteManifestExists(backup: backup) {
                return alreadyOffsite(backup: backup, id: id, started: started)
            }
            replaced = done
            entry = newEntry(id: id, backup: backup)
        case .fresh(let checkManifest, let warning):
            if let warning { warn(warning) }
            if checkManifest, try offsiteManifestExists(backup: backup) {
                return alreadyOffsite(backup: backup, id: id, started: started)
            }
            entry = newEntry(id: id, backup: backup)
        case .refuse(let error):
            throw error
        }
        entry.state = .uploading
        entry.lastError = nil
        try save(&entry)
        if !backup.singleFile, backup.files.allSatisfy({ $0.identity.size == 0 }) {
            warn("backup \(backup.id) holds only empty files; they are uploaded, but check that the backup job wrote its archives")
        }

        do {
            try sendFiles(&entry)
            try putOffsiteManifest(entry: entry, backup: backup)
        } catch {
            if let replaced, !entry.files.contains(where: { $0.state != .pending || $0.uploadID != nil }) {
                // Nothing of this attempt reached the vault: the finished upload stays finished.
                _ = try? journal.save(replaced)
                throw error
            }
            entry.state = error.exitStatus == .tempFail ? .interrupted : .failed
            entry.lastError = "\(error.code): \(error.message)"
            try? save(&entry, final: true)
            throw error
        }
        entry.state = .completed
        try save(&entry, final: true)
        let seconds = monotonicSeconds() - started
        let total = entry.bytesTotal
        let rate = seconds > 0 ? Int64(Double(bytesSent) / seconds) : 0
        logger.info(
            "\(Units.transferredLine(files: entry.files.count, bytes: total, seconds: seconds, rate: rate))",
            metadata: Units.transferredMetadata(files: entry.files.count, bytes: total, seconds: seconds, rate: rate))
        var result = UploadResult(
            backup: backup.id, vault: target.vault, entryID: id,
            files: entry.files.map { f in
                UploadResult.File(path: f.path, key: f.key, size: f.identity.size, parts: f.uploadID == nil ? 1 : f.parts.count, etag: f.etag ?? "", checksum: f.checksum ?? "")
            }, bytesSent: bytesSent, bytes: total, seconds: seconds, alreadyOffsite: false, resumed: resumed, warnings: warnings)
        result.objectLock = lockedUntil
        return result
    }

    /// The caller reports it (one line: the result); the engine says nothing more.
    private func alreadyOffsite(backup: Backup, id: String, started: Double) -> UploadResult {
        return UploadResult(
            backup: backup.id, vault: target.vault, entryID: id, files: [], bytesSent: 0, bytes: 0, seconds: monotonicSeconds() - started, alreadyOffsite: true,
            resumed: false, warnings: warnings)
    }

    /// Whether an entry was recorded against the bucket, endpoint and prefix this vault names now.
    private func pointsHere(_ entry: JournalEntry) -> Bool {
        entry.bucket == bucket && entry.endpoint == target.location.endpointDescription && entry.prefix == target.prefix
    }

    private func newEntry(id: String, backup: Backup) -> JournalEntry {
        let files = backup.allFiles.map { f in
            JournalEntry.File(path: f.relativePath, sourcePath: f.absolutePath, key: target.objectKey(backup: backup.id, relativePath: f.relativePath), identity: f.identity)
        }
        var entry = JournalEntry(
            id: id, backup: backup.id, backupDirectory: backup.directory, singleFile: backup.singleFile, vault: target.vault, bucket: bucket,
            endpoint: target.location.endpointDescription, prefix: target.prefix, files: files, now: Timestamp.now())
        entry.bandwidthLimit = target.runBandwidthLimit
        entry.concurrency = target.runConcurrency
        return entry
    }

    /// Files that changed since the interrupted attempt start over (their old multipart upload
    /// aborted); files that appeared are added, files that vanished are dropped.
    private func reconcileSources(_ entry: inout JournalEntry, with backup: Backup) throws(AgentError) {
        var files: [JournalEntry.File] = []
        var recorded: [String: JournalEntry.File] = [:]
        recorded.reserveCapacity(entry.files.count)
        for f in entry.files { recorded[f.path] = f }
        for f in backup.allFiles {
            let key = target.objectKey(backup: backup.id, relativePath: f.relativePath)
            guard var old = recorded.removeValue(forKey: f.relativePath) else {
                files.append(JournalEntry.File(path: f.relativePath, sourcePath: f.absolutePath, key: key, identity: f.identity))
                continue
            }
            if old.identity != f.identity || old.key != key {
                if old.identity != f.identity {
                    // A new start also means a new age file key: never the same key and nonce over other plaintext.
                    warn(
                        "SOURCE_CHANGED: \(f.relativePath) changed since the interrupted upload; sending it again from the start",
                        metadata: ["key": .string(key), "path": .string(f.relativePath), "code": "SOURCE_CHANGED"])
                } else {
                    warn(
                        "\(f.relativePath): the vault's encryption setting changed since the interrupted upload; sending it again from the start as \(key)",
                        metadata: ["key": .string(key), "path": .string(f.relativePath)])
                }
                if let uploadID = old.uploadID { abortQuietly(key: old.key, uploadID: uploadID) }
                old = JournalEntry.File(path: f.relativePath, sourcePath: f.absolutePath, key: key, identity: f.identity)
            }
            old.sourcePath = f.absolutePath
            files.append(old)
        }
        for old in entry.files where recorded[old.path] != nil {
            if let uploadID = old.uploadID, old.state != .done { abortQuietly(key: old.key, uploadID: uploadID) }
        }
        entry.files = files
    }

    // MARK: one file

    private func sendFile(_ entry: inout JournalEntry, _ index: Int) throws(AgentError) {
        let file = entry.files[index]
        let fd = open(file.sourcePath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw AgentError(.unreadable, "cannot read \(file.sourcePath): \(String(cString: strerror(errno)))", hint: "let the agent's user read the backup files (check owner and mode)")
        }
        defer { close(fd) }
        try checkUnchanged(fd: fd, file: file)
        let started = monotonicSeconds()
        let sentBefore = bytesSent
        let stored = try storedBytes(&entry, index, fd: fd)
        let size = stored.size
        try sendMultipart(&entry, index, stored)
        let seconds = monotonicSeconds() - started
        let f = entry.files[index]
        // The rate of what this run sent: parts an earlier run stored are not this run's speed.
        let sentNow = bytesSent - sentBefore
        let rate = seconds > 0 ? Int64(Double(sentNow) / seconds) : 0
        let earlier = sentNow < size ? ", \(Units.formatSize(size - sentNow)) of it sent by an earlier run" : ""
        logger.info(
            "uploaded \(f.path) -> \(f.key) (\(Units.formatSize(size)), \(f.uploadID == nil ? "1 request" : "\(f.parts.count) parts")\(earlier), \(Units.formatDuration(seconds)), \(Units.formatSize(rate))/s)",
            metadata: ["key": .string(f.key), "path": .string(f.path), "backup": .string(entry.backup)])
    }

    /// Mechanism headers for one body (SPEC 5: a payload checksum the provider verifies).
    private func integrityHeaders(_ digests: PayloadDigests) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        if let md5 = digests.md5 { headers.append(("Content-MD5", md5.base64String)) }
        if let crc = digests.crc32c, target.sendsCRC32C {
            headers.append(("x-amz-checksum-crc32c", CRC32C.headerValue(crc)))
        } else if let sha = digests.sha256, target.integrity.preferred == .checksumSHA256 && target.integrity.checksumAlgorithms.contains("sha256") {
            headers.append(("x-amz-checksum-sha256", sha.base64String))
        }
        return headers
    }

    /// `x-amz-content-sha256` for a body: its signed SHA-256, or `UNSIGNED-PAYLOAD` when a
    /// CRC-32C the server verifies travels with it over TLS (issue 17).
    private func payloadHash(_ digests: PayloadDigests) -> String {
        if target.sendsCRC32C, digests.crc32c != nil { return PayloadHash.unsigned }
        return digests.sha256?.hexString ?? PayloadHash.unsigned
    }

    /// What the journal and the offsite manifest record for a file sent in one request.
    private func fileChecksum(_ digests: PayloadDigests) -> String {
        if target.sendsCRC32C, let crc = digests.crc32c { return "crc32c:" + CRC32C.hex(crc) }
        return "sha256:" + (digests.sha256?.hexString ?? "")
    }

    private var wantsMD5: Bool { forceContentMD5 || target.needsMD5 }

    private var objectHeaders: [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        if let sc = target.storageClass { headers.append(("x-amz-storage-class", sc)) }
        if let sse = target.serverSideEncryption { headers.append(("x-amz-server-side-encryption", sse)) }
        return headers
    }

    /// The Object Lock headers of a write starting now, and the retain-until they ask for.
    private func lockHeaders() -> (headers: [(name: String, value: String)], retainUntil: Int64?) {
        guard let lock = target.objectLock else { return ([], nil) }
        let (headers, until) = lock.headers(now: Timestamp.now())
        return (headers, until)
    }

    /// After an object is stored: with Object Lock, it must be locked (see `ObjectLockPolicy.confirm`).
    private func confirmLock(key: String, head: ObjectInfo?, retainUntil: Int64?) throws(AgentError) {
        guard let lock = target.objectLock, let retainUntil else { return }
        let stored = try lock.confirm(key: key, head: head, retainUntil: retainUntil, client: client, logger: logger).retention
        let until = stored.retainUntil ?? retainUntil
        if lockedUntil.map({ until < $0.retainUntil }) ?? true { lockedUntil = (stored.mode, until) }
    }

    private func isObjectLockDemand(_ error: S3Error) -> Bool {
        guard let s = error.failure.serviceError, s.code == "InvalidRequest" else { return false }
        return s.message.contains("Content-MD5") || s.message.contains("x-amz-checksum")
    }

    // MARK: small files

    /// Sends every unfinished file: the small ones first, up to `concurrency` single PUTs at once,
    /// then the large ones one after another (each with its parts in flight), and the backup's own
    /// `backup.json` after all its archives (SPEC 5).
    private func sendFiles(_ entry: inout JournalEntry) throws(AgentError) {
        let limit = min(target.multipartThreshold, target.limits.maxSinglePut)
        var small: [Int] = []
        var large: [Int] = []
        var last: [Int] = []
        for index in entry.files.indices where entry.files[index].state != .done {
            if entry.files[index].path == Backup.manifestName && !entry.singleFile {
                last.append(index)
            } else if entry.files[index].uploadID == nil && entry.files[index].identity.size <= limit {
                small.append(index)
            } else {
                large.append(index)
            }
        }
        // Files an earlier, interrupted run stored: with Object Lock, checked locked like this run's.
        let earlier = target.objectLock == nil ? [] : entry.files.indices.filter { entry.files[$0].state == .done }
        if !small.isEmpty { large += try sendSmallFiles(&entry, small) }
        for index in large.sorted() { try sendFile(&entry, index) }
        for index in last where try !sendSmallFiles(&entry, [index]).isEmpty { try sendFile(&entry, index) }
        try confirmEarlierLocks(entry, earlier)
    }

    /// A resumed upload's files stored by an earlier run: each must hold the retention that run
    /// asked for (at least the entry's start + the vault's days), else it is set now or the upload
    /// fails, as for this run's files; their retain-until counts in the result too.
    private func confirmEarlierLocks(_ entry: JournalEntry, _ indices: [Int]) throws(AgentError) {
        guard let lock = target.objectLock, !indices.isEmpty else { return }
        let retainUntil = lock.settings.retainUntil(from: entry.created)
        for index in indices {
            let key = entry.files[index].key
            try confirmLock(key: key, head: try? client.headObject(key: key), retainUntil: retainUntil)
        }
    }

    /// The callbacks' mailbox: files being hashed or PUT, and answers waiting to be looked at.
    private final class SmallBatch {
        /// Files being hashed on the digest pool (cancelled when the batch stops).
        var hashing: [Int: DigestPool.Ticket] = [:]
        var stopping = false

        /// No file starts hashing from now on; those being hashed are not sent.
        func stop() {
            stopping = true
            for ticket in hashing.values { ticket.cancel() }
        }
    }

    /// One small file's PUT: its open descriptor (closed when the PUT is done with), what was sent.
    private final class SmallPut {
        let index: Int
        let stored: StoredBytes
        var digests = PayloadDigests()
        /// The retain-until the PUT's Object Lock headers asked for.
        var retainUntil: Int64?
        var result: Result<HTTPResponse, S3Error>?
        /// Why it was not sent: its digests failed, or the batch stopped while it was hashed.
        var notSent: AgentError?

        init(index: Int, stored: StoredBytes) {
            self.index = index
            self.stored = stored
        }

        deinit { close(stored.fd) }
    }

    /// Single PUTs, up to `concurrency` in flight through the one window (connections reused),
    /// each hashed on the digest pool first. Each answer is settled by the window outside the
    /// transfer callbacks: verified (a HEAD only where the PUT's answer does not prove the stored
    /// bytes, or to check an Object Lock), then recorded in the journal's log. Returns the files
    /// too large for one PUT once encrypted: sent as multipart.
    private func sendSmallFiles(_ entry: inout JournalEntry, _ indices: [Int]) throws(AgentError) -> [Int] {
        let batch = SmallBatch()
        let window = TransferWindow(client: client, concurrency: target.concurrency)
        window.onProgress = onProgress
        // The closures below outlive this call's inout access: they work on a copy.
        var working = entry
        var pending = indices[...]
        var again: [Int] = []
        var tooLarge: [Int] = []
        var firstError: AgentError?
        var summary = ManyFilesLog(verb: "uploaded", total: indices.count, logger: logger)
        func failed(_ error: AgentError) {
            if error.code != .interrupted { firstError = firstError ?? error }
            window.stop()
            batch.stop()
        }
        func settled(_ put: SmallPut) {
            if let notSent = put.notSent { return failed(notSent) }
            do {
                if try finishSmall(&working, put) {
                    window.progressed(put.stored.size)
                    let f = working.files[put.index]
                    summary.add(
                        bytes: put.stored.size, detail: "\(f.path) -> \(f.key) (\(Units.formatSize(put.stored.size)), 1 request)",
                        metadata: ["key": .string(f.key), "path": .string(f.path)])
                } else {
                    again.append(put.index)
                }
            } catch {
                failed(error)
            }
        }
        window.fill = { [self, unowned window] in
            if http.shouldCancel() { batch.stop() }
            while firstError == nil, !batch.stopping, window.hasRoom, let index = again.popLast() ?? pending.popFirst() {
                do throws(AgentError) {
                    if try !launchSmall(&working, index, batch, window, settled: settled) { tooLarge.append(index) }
                } catch {
                    failed(error)
                }
            }
        }
        window.run(until: { pending.isEmpty && again.isEmpty })
        window.fill = {}  // it captured the window: no cycle outlives the batch
        // No worker may still read a file when its descriptor is closed.
        batch.stop()
        http.waitForPosts(until: { batch.hashing.isEmpty })
        entry = working
        summary.finish()
        if http.shouldCancel() {
            throw AgentError(
                .interrupted, "interrupted while sending small files; the journal keeps the \(summary.done) stored so far", hint: "run `agent resume --all` to finish",
                exit: .tempFail)
        }
        if let firstError { throw firstError }
        return tooLarge
    }

    /// Opens one small file and hands it to the digest pool; its PUT starts when its digests are
    /// in. False when its stored bytes are too large for one PUT.
    private func launchSmall(
        _ entry: inout JournalEntry, _ index: Int, _ batch: SmallBatch, _ window: TransferWindow, settled: @escaping (SmallPut) -> Void
    ) throws(AgentError) -> Bool {
        let file = entry.files[index]
        let fd = open(file.sourcePath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw AgentError(.unreadable, "cannot read \(file.sourcePath): \(String(cString: strerror(errno)))", hint: "let the agent's user read the backup files (check owner and mode)")
        }
        let stored: StoredBytes
        do {
            try checkUnchanged(fd: fd, file: file)
            stored = try storedBytes(&entry, index, fd: fd)
            guard stored.size <= min(target.multipartThreshold, target.limits.maxSinglePut) else {
                close(fd)
                return false
            }
        } catch {
            close(fd)
            throw error
        }
        // An encrypted body's tags, recorded while it is hashed, re-create it as it is sent.
        let tags = stored.isEncrypted ? AgeTagBook() : nil
        let put = SmallPut(index: index, stored: stored)
        // The PUT's slot is claimed while its body is hashed.
        window.reserve()
        batch.hashing[index] = digestAhead(stored, offset: 0, length: stored.size, withMD5: wantsMD5, file: file, tags: tags) { [self, batch, window] result in
            batch.hashing[index] = nil
            switch result {
            case .success(let digests) where !batch.stopping:
                put.digests = digests
                // The lock headers of a write starting now (its retain-until is what is checked after).
                let lock = lockHeaders()
                put.retainUntil = lock.retainUntil
                let op = client.putObjectOperation(
                    key: file.key, body: stored.body(offset: 0, length: stored.size, tags: tags), payloadHash: payloadHash(digests),
                    headers: objectHeaders + lock.headers + integrityHeaders(digests))
                window.send(op, reserved: true) { result, attempts in
                    put.result = result.mapError { S3Error(failure: $0, attempts: attempts) }
                    window.settle { settled(put) }
                }
            case .success:
                put.notSent = AgentError(.interrupted, "\(file.path) was not sent", hint: "run `agent resume --all` to finish", exit: .tempFail)
                window.settle { settled(put) }
                window.release()
            case .failure(let error):
                put.notSent = error
                window.settle { settled(put) }
                window.release()
            }
        }
        return true
    }

    /// Looks at one PUT's answer: true when the file is stored, verified and recorded; false when
    /// it must be sent again (the bucket demanded Content-MD5).
    private func finishSmall(_ entry: inout JournalEntry, _ put: SmallPut) throws(AgentError) -> Bool {
        let index = put.index
        let file = entry.files[index]
        let response: HTTPResponse
        switch put.result {
        case .success(let r)?:
            response = r
        case .failure(let error)?:
            if put.digests.md5 == nil && isObjectLockDemand(error) {
                if !forceContentMD5 { warn("the bucket requires Content-MD5 on every upload (Object Lock); sending it from now on") }
                forceContentMD5 = true
                return false
            }
            throw StorageErrors.agentError(error, vault: target.vault, bucket: bucket, action: "s3:PutObject")
        case nil:
            throw AgentError(.interrupted, "the upload of \(file.path) ended without an answer", hint: "run `agent resume --all` to finish", exit: .tempFail)
        }
        let etag = unquoteETag(response.header("ETag") ?? "")
        let size = put.stored.size
        try checkUnchanged(fd: put.stored.fd, file: file)
        var head: ObjectInfo?
        if put.retainUntil != nil || !putProves(put.digests, etag: etag, response: response) {
            head = try verify(
                file: file, storedSize: size, expectedETag: put.digests.md5.map { $0.hexString }, reportedETag: etag,
                expectedCRC: target.sendsCRC32C ? put.digests.crc32c : nil)
        }
        try confirmLock(key: file.key, head: head, retainUntil: put.retainUntil)
        try record(&entry, index, .done(path: file.path, etag: etag, checksum: fileChecksum(put.digests)))
        bytesSent += size
        return true
    }

    /// Whether a PUT's own answer proves the stored bytes are ours, so no HEAD is needed (SPEC 5,
    /// issue 19): its ETag is the MD5 sent as Content-MD5 (the server hashed what it stored), or
    /// the provider verifies the signed SHA-256 payload we sent or the x-amz-checksum-sha256 it
    /// echoes back. Then a 200 means exactly our bytes, and so our size, are stored. A CRC-32C
    /// upload (issue 17) keeps its HEAD: it compares the server's stored full-object CRC.
    private func putProves(_ digests: PayloadDigests, etag: String, response: HTTPResponse) -> Bool {
        if target.sendsCRC32C && digests.crc32c != nil { return false }
        if let md5 = digests.md5, etag.count == 32, etag.lowercased() == md5.hexString { return true }
        guard let sha = digests.sha256 else { return false }
        if target.integrity.verifies(.signedPayload), payloadHash(digests) == sha.hexString { return true }
        if target.integrity.preferred == .checksumSHA256, target.integrity.verifies(.checksumSHA256),
            response.header("x-amz-checksum-sha256") == sha.base64String
        {
            return true
        }
        return false
    }

    /// Whether a part plan is one the provider takes: at most `maxParts` parts, none larger than
    /// `maxPartSize`, none but the last smaller than `minPartSize`.
    static func fits(_ plan: PartPlan, _ limits: MultipartLimits) -> Bool {
        plan.partCount <= limits.maxParts && plan.partSize <= limits.maxPartSize && (plan.partCount == 1 || plan.partSize >= limits.minPartSize)
    }

    /// Sends one file in parts, driven by its `MultipartUploadStateMachine`: this function does
    /// the I/O each action asks for and reports what happened.
    private func sendMultipart(_ entry: inout JournalEntry, _ index: Int, _ stored: StoredBytes) throws(AgentError) {
        let file = entry.files[index]
        let size = stored.size
        let lock = lockHeaders()
        var recorded = file.partSize.flatMap { partSize in
            file.uploadID != nil ? PartPlan(fileSize: size, partSize: partSize, partCount: max(1, Int((size + partSize - 1) / partSize))) : nil
        }
        var recordedUploadID = file.uploadID
        if let plan = recorded, !Self.fits(plan, target.limits), let old = recordedUploadID {
            // A journal's plan no provider takes (a damaged or edited file): this file starts over.
            warn(
                "the journal's part plan for \(file.path) (\(plan.partCount) parts of \(plan.partSize) bytes) is outside the provider's limits; sending the file afresh",
                metadata: ["key": .string(file.key), "path": .string(file.path)])
            abortQuietly(key: file.key, uploadID: old)
            recorded = nil
            recordedUploadID = nil
        }
        // SSE-KMS parts' ETags are no MD5s; SSE-S3's are.
        var machine = MultipartUploadStateMachine(
            path: file.path, plan: recorded ?? PartPlan.make(fileSize: size, requested: target.partSize, limits: target.limits),
            partETagsAreMD5s: target.integrity.etagIsMD5 && target.serverSideEncryption?.lowercased().hasPrefix("aws:kms") != true)
        var action = machine.start(recordedUploadID: recordedUploadID)
        // The object's HEAD when the upload was gone at Complete.
        var storedObject: ObjectInfo?
        while true {
            switch action {
            case .listParts(let uploadID, let because):
                if let because {
                    warn("\(file.path): \(because); checking the parts the server holds and sending the rest again", metadata: ["key": .string(file.key), "path": .string(file.path)])
                }
                let serverParts: [UploadedPart]
                do {
                    serverParts = try client.listParts(key: file.key, uploadID: uploadID)
                } catch {
                    guard error.failure.isUnknownUpload else {
                        throw StorageErrors.agentError(error, vault: target.vault, bucket: bucket, action: "s3:ListMultipartUploadParts")
                    }
                    action = machine.listingFoundNoUpload(error.failure.code ?? "NoSuchUpload")
                    continue
                }
                let plan = machine.plan
                let held = try MultipartUploadStateMachine.adoptable(
                    server: serverParts, recorded: entry.files[index].parts, plan: plan, etagIsMD5: target.integrity.etagIsMD5
                ) { (number: Int) throws(AgentError) -> JournalEntry.Part in
                    let (offset, length) = plan.range(of: number)
                    let digests = try digest(stored, offset: offset, length: length, withMD5: true, file: file)
                    return JournalEntry.Part(
                        number: number, etag: digests.md5?.hexString ?? "", size: length, sha256: digests.sha256?.hexString ?? "", md5: digests.md5?.hexString,
                        crc32c: digests.crc32c.map(CRC32C.hex))
                }
                entry.files[index].parts = held.values.sorted { $0.number < $1.number }
                try save(&entry)
                logger.info(
                    "\(file.path): the server holds \(held.count) of \(plan.partCount) parts; sending the other \(plan.partCount - held.count)",
                    metadata: ["key": .string(file.key), "path": .string(file.path)])
                let alreadyHeld = held.values.reduce(Int64(0)) { $0 + $1.size }
                if alreadyHeld > 0 { onAlreadyHeld?(alreadyHeld) }
                action = machine.partsListed(held: held)

            case .startOver(let reason):
                warn(
                    "the server forgot the multipart upload of \(file.path) (\(reason)); starting this file over with a new upload",
                    metadata: ["key": .string(file.key), "path": .string(file.path)])
                entry.files[index].uploadID = nil
                entry.files[index].parts = []
                entry.files[index].partSize = nil
                try save(&entry)
                fallthrough
            case .createUpload:
                let plan = PartPlan.make(fileSize: size, requested: target.partSize, limits: target.limits)
                var headers = objectHeaders + lock.headers
                if target.sendsCRC32C {
                    // Each part carries its CRC-32C; Complete names the whole object's (combined from the parts').
                    headers += [("x-amz-checksum-algorithm", "CRC32C"), ("x-amz-checksum-type", "FULL_OBJECT")]
                } else if target.integrity.preferred == .checksumSHA256 && target.integrity.checksumAlgorithms.contains("sha256") {
                    headers.append(("x-amz-checksum-algorithm", "SHA256"))
                }
                let uploadID: String
                do {
                    uploadID = try client.createMultipartUpload(key: file.key, headers: headers)
                } catch {
                    throw StorageErrors.agentError(error, vault: target.vault, bucket: bucket, action: "s3:PutObject")
                }
                entry.files[index].uploadID = uploadID
                entry.files[index].partSize = plan.partSize
                entry.files[index].parts = []
                entry.files[index].state = .uploading
                try save(&entry)
                action = machine.uploadCreated(uploadID, plan: plan)

            case .sendParts(let uploadID):
                action = sendParts(&entry, index, stored, uploadID: uploadID, machine: &machine)

            case .complete(let uploadID, let parts, _):
                try checkUnchanged(fd: stored.fd, file: file)
                let fullCRC = try fullObjectCRC32C(parts, stored: stored, file: file)
                do {
                    let etag = try client.completeMultipartUpload(
                        key: file.key, uploadID: uploadID,
                        parts: parts.map { p in
                            UploadedPart(
                                number: p.number, etag: p.etag, size: p.size,
                                checksumCRC32C: fullCRC != nil ? p.crc32c.flatMap(CRC32C.parseHex).map(CRC32C.headerValue) : nil)
                        },
                        headers: fullCRC.map { [("x-amz-checksum-crc32c", CRC32C.headerValue($0)), ("x-amz-checksum-type", "FULL_OBJECT")] } ?? [])
                    action = machine.completed(etag: etag)
                } catch {
                    let refusal: MultipartUploadStateMachine.CompleteRefusal
                    let mapped = StorageErrors.agentError(error, vault: target.vault, bucket: bucket, action: "s3:PutObject")
                    if error.failure.isUnknownUpload {
                        refusal = .uploadUnknown
                    } else if error.failure.code == "InternalError" {
                        // Ceph RGW answers Complete for an upload it no longer knows with 500 InternalError.
                        refusal = .internalError(mapped)
                    } else if let code = error.failure.code, code == "InvalidPart" || code == "InvalidPartOrder" {
                        refusal = .invalidPart(code: code)
                    } else {
                        refusal = .failed(mapped)
                    }
                    action = machine.completeRefused(refusal)
                }

            case .askWhetherUploadIsGone(let uploadID):
                action = machine.uploadIsGone(uploadIsGone(key: file.key, uploadID: uploadID))

            case .checkStoredObject:
                storedObject = try? client.headObject(key: file.key)
                action = machine.storedObject(size: storedObject?.size, etag: storedObject?.etag)

            case .adoptStoredObject(let etag, let parts):
                logger.info("\(file.path): the upload was already completed", metadata: ["key": .string(file.key), "path": .string(file.path)])
                try confirmLock(key: file.key, head: storedObject, retainUntil: lock.retainUntil)
                return try finishMultipart(&entry, index, parts: parts, etag: etag, fullCRC: try fullObjectCRC32C(parts, stored: stored, file: file))

            case .verify(let etag, let parts, let expected):
                let fullCRC = try fullObjectCRC32C(parts, stored: stored, file: file)
                let head = try verify(file: file, storedSize: size, expectedETag: expected, reportedETag: etag, expectedCRC: fullCRC)
                try confirmLock(key: file.key, head: head, retainUntil: lock.retainUntil)
                return try finishMultipart(&entry, index, parts: parts, etag: etag, fullCRC: fullCRC)

            case .fail(let error, let abortUploadID):
                if let abortUploadID { abortQuietly(key: file.key, uploadID: abortUploadID) }
                throw error
            }
        }
    }

    /// The parts phase: up to `concurrency` parts in flight through the multi loop, each hashed
    /// ahead on the digest pool; every answer goes to the state machine, which says what follows
    /// once nothing is in flight.
    private func sendParts(
        _ entry: inout JournalEntry, _ index: Int, _ stored: StoredBytes, uploadID: String, machine: inout MultipartUploadStateMachine
    ) -> MultipartUploadStateMachine.Action {
        let file = entry.files[index]
        let fd = stored.fd
        let plan = machine.plan
        // The closures below outlive this call's inout accesses: they work on copies.
        var working = entry
        var m = machine
        let window = TransferWindow(client: client, concurrency: target.concurrency)
        // Parts hashed ahead on the digest pool, and parts hashed and waiting for a free slot:
        // at most `concurrency + pool threads` parts are claimed at once (digests only, no bytes held).
        var hashing: [Int: DigestPool.Ticket] = [:]
        var ready: [(number: Int, digests: PayloadDigests, tags: AgeTagBook?)] = []
        window.onProgress = onProgress
        let lookahead = window.concurrency + digestPool.threads
        var stopped: Bool { m.isStopping || http.shouldCancel() }

        func hashAhead(_ number: Int) {
            let (offset, length) = plan.range(of: number)
            let tags = stored.isEncrypted ? AgeTagBook() : nil
            hashing[number] = digestAhead(stored, offset: offset, length: length, withMD5: wantsMD5, file: file, tags: tags) { result in
                hashing[number] = nil
                switch result {
                case .success(let digests):
                    ready.append((number, digests, tags))
                case .failure(let error):
                    if error.code == .interrupted { m.partReturned(number) } else { m.failed(error) }
                }
                launchMore()
            }
        }

        func send(_ number: Int, _ digests: PayloadDigests, _ tags: AgeTagBook?) {
            let (offset, length) = plan.range(of: number)
            let withMD5 = digests.md5 != nil
            let op = client.uploadPartOperation(
                key: file.key, uploadID: uploadID, partNumber: number, body: stored.body(offset: offset, length: length, tags: tags),
                payloadHash: payloadHash(digests), headers: integrityHeaders(digests))
            window.send(op) { [self] result, attempts in
                switch result {
                case .success(let response):
                    let etag = unquoteETag(response.header("ETag") ?? "")
                    if etag.isEmpty {
                        m.partRefused(
                            number,
                            .failed(AgentError(.rejected, "the server answered part \(number) of \(file.path) without an ETag", hint: "the endpoint may not be S3-compatible", exit: .failed)),
                            sentWithMD5: withMD5)
                        break
                    }
                    let part = JournalEntry.Part(
                        number: number, etag: etag, size: length, sha256: digests.sha256?.hexString ?? "", md5: digests.md5?.hexString,
                        crc32c: digests.crc32c.map(CRC32C.hex))
                    m.partStored(part)
                    bytesSent += length
                    window.progressed(length)
                    do throws(AgentError) {
                        try record(&working, index, .part(path: file.path, part))
                        try checkUnchanged(fd: fd, file: file)
                    } catch {
                        m.failed(error)
                    }
                case .failure(let failure):
                    let error = S3Error(failure: failure, attempts: attempts)
                    if failure.isUnknownUpload {
                        m.partRefused(number, .uploadUnknown, sentWithMD5: withMD5)
                    } else if isObjectLockDemand(error) {
                        if !withMD5 && !forceContentMD5 { warn("the bucket requires Content-MD5 on every upload (Object Lock); sending it from now on") }
                        let refusal = StorageErrors.agentError(error, vault: target.vault, bucket: bucket, action: "s3:PutObject")
                        m.partRefused(number, .contentMD5Demanded(refusal: refusal), sentWithMD5: withMD5)
                        if m.contentMD5Demanded { forceContentMD5 = true }
                    } else {
                        if case .transport(let t) = failure, t.kind == .stalled {
                            session.countStall()
                            logger.warning(
                                "part \(number) of \(file.path) stalled: \(t.message)",
                                metadata: ["key": .string(file.key), "part": .stringConvertible(number), "path": .string(file.path)])
                        }
                        m.partRefused(number, .failed(StorageErrors.agentError(error, vault: target.vault, bucket: bucket, action: "s3:PutObject")), sentWithMD5: withMD5)
                    }
                }
            }
        }

        func launchMore() {
            if stopped {
                for ticket in hashing.values { ticket.cancel() }
                return
            }
            while window.hasRoom, !ready.isEmpty {
                let next = ready.removeFirst()
                if wantsMD5 && next.digests.md5 == nil {
                    // Hashed before the bucket asked for Content-MD5: hashed again, with it.
                    m.partReturned(next.number)
                    continue
                }
                send(next.number, next.digests, next.tags)
            }
            while window.inFlight + hashing.count + ready.count < lookahead, let number = m.nextPart() {
                hashAhead(number)
            }
        }

        window.fill = launchMore
        window.run(busy: { !hashing.isEmpty }, until: { m.partsOutstanding == 0 || m.isStopping })
        window.fill = {}  // it captured the window: no cycle outlives the file
        // Interrupted, or stopped by an error: no worker may still read this file when it is closed.
        for ticket in hashing.values { ticket.cancel() }
        http.waitForPosts(until: { hashing.isEmpty })
        entry = working
        let next = m.partsSettled(interrupted: http.shouldCancel())
        machine = m
        return next
    }

    /// The whole object's CRC-32C, combined from its parts' (a part an earlier run sent without
    /// one recorded is read again); nil when this vault does not send CRC-32C.
    private func fullObjectCRC32C(_ parts: [JournalEntry.Part], stored: StoredBytes, file: JournalEntry.File) throws(AgentError) -> UInt32? {
        guard target.sendsCRC32C else { return nil }
        var crc = CRC32C.empty
        var offset: Int64 = 0
        for p in parts {
            let partCRC: UInt32
            if let recorded = p.crc32c.flatMap(CRC32C.parseHex) {
                partCRC = recorded
            } else {
                partCRC = try digest(stored, offset: offset, length: p.size, kinds: [.crc32c], file: file).crc32c ?? 0
            }
            crc = CRC32C.combine(crc, partCRC, lengthB: p.size)
            offset += p.size
        }
        return crc
    }

    private func finishMultipart(_ entry: inout JournalEntry, _ index: Int, parts: [JournalEntry.Part], etag: String, fullCRC: UInt32?) throws(AgentError) {
        let checksum = fullCRC.map { "crc32c:" + CRC32C.hex($0) } ?? "sha256-parts:" + parts.map(\.sha256).joined(separator: ",")
        try record(&entry, index, .done(path: entry.files[index].path, etag: etag, checksum: checksum))
    }

    // MARK: checks

    /// The digests this vault sends with a body (SHA-256 or CRC-32C, and MD5 when `withMD5`).
    private func digest(
        _ stored: StoredBytes, offset: Int64, length: Int64, withMD5: Bool, file: JournalEntry.File, tags: AgeTagBook? = nil
    ) throws(AgentError) -> PayloadDigests {
        var kinds = target.payloadDigests
        if withMD5 { kinds.insert(.md5) }
        return try digest(stored, offset: offset, length: length, kinds: kinds, file: file, tags: tags)
    }

    private func digest(
        _ stored: StoredBytes, offset: Int64, length: Int64, kinds: DigestKinds, file: JournalEntry.File, tags: AgeTagBook? = nil
    ) throws(AgentError) -> PayloadDigests {
        do {
            return try digestWork(stored, offset: offset, length: length, kinds: kinds, file: file, tags: tags, onAnotherThread: false)(hasher)
        } catch {
            throw digestFailure(error, file: file)
        }
    }

    /// Hashes a region on the digest pool (issue 17) while this thread keeps driving transfers;
    /// `then` runs on this thread, from within `http.run…`, with the digests or the error. The
    /// caller keeps the file's descriptor open until `then` has run, cancelled or not.
    func digestAhead(
        _ stored: StoredBytes, offset: Int64, length: Int64, withMD5: Bool, file: JournalEntry.File, tags: AgeTagBook?,
        then: @escaping (Result<PayloadDigests, AgentError>) -> Void
    ) -> DigestPool.Ticket {
        var kinds = target.payloadDigests
        if withMD5 { kinds.insert(.md5) }
        let work = Unchecked(digestWork(stored, offset: offset, length: length, kinds: kinds, file: file, tags: tags, onAnotherThread: true))
        let deliver = Unchecked((then: then, file: file, engine: self))
        let inbox = http.inbox
        http.awaitedPosts += 1
        return digestPool.submit({ hasher in try work.value(hasher) }) { result in
            let outcome = Unchecked(result)
            inbox.post {
                let d = deliver.value
                d.then(outcome.value.mapError { d.engine.digestFailure($0, file: d.file) })
            }
        }
    }

    /// The hashing of one region, to run here or on a digest-pool worker (`onAnotherThread`:
    /// touches nothing of this engine's but the shared digest cache, which is thread-safe).
    private func digestWork(
        _ stored: StoredBytes, offset: Int64, length: Int64, kinds: DigestKinds, file: JournalEntry.File, tags: AgeTagBook?, onAnotherThread: Bool
    ) -> DigestPool.Work {
        let fd = stored.fd
        if stored.isEncrypted {
            // This vault's own ciphertext: hashed here, never shared with other vaults.
            let read = stored.reader(recording: tags, onAnotherThread: onAnotherThread)
            return { hasher in try hasher.digest(length: length, offset: offset, kinds: kinds, read: read) }
        }
        guard let cache = digestCache else {
            return { hasher in try hasher.digest(fd: fd, offset: offset, length: length, kinds: kinds) }
        }
        let path = file.sourcePath
        let inode = file.identity.inode
        let mtime = file.identity.mtimeNanos
        return { hasher in
            try cache.digests(path: path, inode: inode, mtime: mtime, offset: offset, length: length, need: kinds) {
                (all: DigestKinds) throws(RegionHasher.Failure) -> PayloadDigests in
                try hasher.digest(fd: fd, offset: offset, length: length, kinds: all)
            }
        }
    }

    /// What a failed digest means to the admin.
    func digestFailure(_ error: any Error, file: JournalEntry.File) -> AgentError {
        switch error {
        case RegionHasher.Failure.shortFile, is AgeFileEncryptor.ShortRead:
            return AgentError(.sourceChanged, "\(file.path) became shorter while being uploaded", hint: "upload backups only after the backup job finished writing them; run the upload again")
        case RegionHasher.Failure.read(let e):
            return AgentError(.unreadable, "reading \(file.sourcePath) failed: \(String(cString: strerror(e)))", hint: "check the disk and the file's permissions")
        case RegionHasher.Failure.cancelled, is DigestPool.Cancelled:
            return AgentError(.interrupted, "hashing \(file.path) was cancelled", hint: "run `agent resume --all` to finish", exit: .tempFail)
        default:
            return AgentError(.unreadable, "reading \(file.sourcePath) failed: \(error)", hint: "check the disk and the file's permissions")
        }
    }

    /// SOURCE_CHANGED when the file's size, mtime or inode differ from what was recorded.
    private func checkUnchanged(fd: Int32, file: JournalEntry.File) throws(AgentError) {
        let now = FileIdentity.of(fd: fd)
        let onDisk = FileIdentity.of(path: file.sourcePath)
        if now?.size != file.identity.size || now?.mtimeNanos != file.identity.mtimeNanos || onDisk?.inode != file.identity.inode {
            throw AgentError(
                .sourceChanged, "\(file.path) changed while being uploaded (size, modification time or inode differ)",
                hint: "upload backups only after the backup job finished writing them; run the upload again to send the new content")
        }
    }

    /// HEAD the stored object: its size must be ours, and its ETag where it is verifiable.
    @discardableResult
    private func verify(file: JournalEntry.File, storedSize: Int64, expectedETag: String?, reportedETag: String, expectedCRC: UInt32? = nil) throws(AgentError) -> ObjectInfo {
        let info: ObjectInfo
        do {
            info = try client.headObject(key: file.key, checksumMode: target.sendsCRC32C)
        } catch {
            throw StorageErrors.agentError(error, vault: target.vault, bucket: bucket, action: "s3:GetObject")
        }
        if let expected = expectedCRC, let stored = info.header("x-amz-checksum-crc32c").flatMap(CRC32C.parseHeader), stored != expected {
            throw AgentError(
                .verifyMismatch, "\(file.key): the stored object's CRC-32C \(CRC32C.hex(stored)) does not match the \(CRC32C.hex(expected)) of what was sent",
                hint: "upload it again with `agent upload --force`; if it repeats, the vault or a proxy alters uploads")
        }
        if info.size != storedSize {
            throw AgentError(
                .verifyMismatch, "\(file.key) is stored with \(info.size) bytes, but \(storedSize) were sent",
                hint: "upload it again with `agent upload --force`; if it repeats, the vault or a proxy alters uploads")
        }
        if let stored = Self.etagMismatch(
            head: info, reportedETag: reportedETag, expectedETag: expectedETag, etagIsMD5: target.integrity.etagIsMD5, configuredSSE: target.serverSideEncryption)
        {
            throw AgentError(
                .verifyMismatch, "\(file.key): the stored object's ETag \(stored) does not match the \(expectedETag ?? "") of what was sent",
                hint: "upload it again with `agent upload --force`; if it repeats, the vault or a proxy alters uploads")
        }
        return info
    }

    /// The stored object's ETag when it contradicts the one our bytes give (`expectedETag`: the
    /// MD5, or the MD5 of the parts' MD5s `-count`); nil when they agree or cannot be compared: a
    /// provider whose ETag is no MD5, an object encrypted with SSE-KMS or SSE-C (its ETag is not
    /// an MD5 of the content), a single-part ETag against a multipart one.
    static func etagMismatch(head: ObjectInfo, reportedETag: String, expectedETag: String?, etagIsMD5: Bool, configuredSSE: String?) -> String? {
        let encryptedByKey = head.header("x-amz-server-side-encryption")?.lowercased().hasPrefix("aws:kms") == true
            || head.header("x-amz-server-side-encryption-customer-algorithm") != nil
        guard let expectedETag, etagIsMD5, configuredSSE != "aws:kms", !encryptedByKey else { return nil }
        let stored = head.etag.isEmpty ? reportedETag : head.etag
        guard stored.contains("-") == expectedETag.contains("-"), stored.lowercased() != expectedETag.lowercased() else { return nil }
        return stored
    }

    private func offsiteManifestExists(backup: Backup) throws(AgentError) -> Bool {
        let key = target.key(backup: backup.id, relativePath: Backup.offsiteManifestName)
        do {
            _ = try client.headObject(key: key)
            return true
        } catch {
            if let s = error.failure.serviceError, s.status == 404 { return false }
            guard let s = error.failure.serviceError, s.code.isEmpty else {
                throw StorageErrors.agentError(error, vault: target.vault, bucket: bucket, action: "s3:GetObject")
            }
            // A HEAD answer has no body to name its error (a 403 may be a bad signature, not a
            // missing permission): ask again with a GET, whose error body says what is wrong.
            do {
                _ = try client.getObject(key: key, range: 0...0)
                return true
            } catch {
                if let s = error.failure.serviceError, s.status == 404 || s.code == "NoSuchKey" { return false }
                throw StorageErrors.agentError(error, vault: target.vault, bucket: bucket, action: "s3:GetObject")
            }
        }
    }

    /// True when the server says it does not know the upload (a ListParts answer); false on any doubt.
    private func uploadIsGone(key: String, uploadID: String) -> Bool {
        do {
            _ = try client.listParts(key: key, uploadID: uploadID)
            return false
        } catch {
            return error.failure.isUnknownUpload
        }
    }

    /// The `created_at` an earlier upload of this backup recorded in its offsite manifest, if any.
    private func recordedCreatedAt(key: String) throws(AgentError) -> String? {
        do {
            let existing = try client.getObject(key: key)
            return JSON.parse(existing.bodyText)?["created_at"]?.stringValue.flatMap { Timestamp.parseISO8601($0) != nil ? $0 : nil }
        } catch {
            if let s = error.failure.serviceError, s.status == 404 || s.code == "NoSuchKey" { return nil }
            throw StorageErrors.agentError(error, vault: target.vault, bucket: bucket, action: "s3:GetObject")
        }
    }

    /// Aborts an interrupted upload's multipart uploads where they were made: in the bucket its
    /// entry names, when the endpoint is this vault's. On another endpoint they are left (it may
    /// be gone, or want other credentials) and the warning says where.
    private func abortWhereRecorded(_ old: JournalEntry, _ uploads: [(key: String, uploadID: String)]) {
        guard !uploads.isEmpty else { return }
        guard old.endpoint == target.location.endpointDescription else {
            warn("the interrupted upload's \(uploads.count) unfinished multipart upload(s) stay in bucket \(old.bucket) at \(old.endpoint); `agent cleanup` with a vault pointing there removes them")
            return
        }
        var location = target.location
        location.bucket = old.bucket
        let there = old.bucket == bucket ? client : S3Client(http: http, location: location, credentials: target.credentials, options: client.options, retry: client.retry)
        there.currentCredentials = client.currentCredentials
        for u in uploads { abortQuietly(key: u.key, uploadID: u.uploadID, client: there) }
    }

    func abortQuietly(key: String, uploadID: String, client: S3Client? = nil) {
        do {
            try (client ?? self.client).abortMultipartUpload(key: key, uploadID: uploadID)
        } catch {
            if !error.failure.isUnknownUpload {
                warn(
                    "could not abort the old multipart upload of \(key): \(error); `agent cleanup` removes it later",
                    metadata: ["operation": "AbortMultipartUpload", "key": .string(key), "upload_id": .string(uploadID)])
            }
        }
    }

    /// Writes the entry's snapshot and starts a new log; `final`: the upload ends here, the
    /// snapshot is complete on its own (no log, the oldest format that describes it).
    func save(_ entry: inout JournalEntry, final: Bool = false) throws(AgentError) {
        entry.updated = Timestamp.now()
        log?.close()
        log = nil
        recordsSinceSnapshot = 0
        entry.logToken = try journal.save(entry, startingLog: !final)
    }

    /// Applies one step to the entry and appends it to the entry's log: the cost does not grow with
    /// what was recorded before. Every `max(1024, files)` records the log is folded into a new
    /// snapshot, so replaying stays short and the total work linear.
    func record(_ entry: inout JournalEntry, _ index: Int, _ step: JournalRecord) throws(AgentError) {
        step.apply(to: &entry.files[index])
        let now = Timestamp.now()
        entry.updated = now
        guard let token = entry.logToken else { return try save(&entry) }
        if log == nil || log?.token != token { log = JournalLogWriter(path: journal.logPath(of: entry.id), token: token) }
        try log?.append(step, time: now)
        recordsSinceSnapshot += 1
        if recordsSinceSnapshot >= max(1024, entry.files.count) { try save(&entry) }
    }

    /// A warning of the run (also in its result); `metadata`: the file it is about (`key`, `path`).
    func warn(_ text: String, metadata: Logger.Metadata = [:]) {
        warnings.append(text)
        logger.warning("\(text)", metadata: metadata)
    }

    // MARK: offsite manifest

    /// Writes `<prefix><backup>/offsite-manifest.json` last: its presence means a complete,
    /// verifiable copy. Uploading one archive merges its entry into the existing manifest.
    private func putOffsiteManifest(entry: JournalEntry, backup: Backup) throws(AgentError) {
        let key = target.key(backup: backup.id, relativePath: Backup.offsiteManifestName)
        // One run at a time reads, merges and writes a backup's manifest: concurrent uploads of
        // its archives (by path) all end up in it.
        guard let manifestLock = journal.manifestLock(backup: backup.id, vault: target.vault, timeout: 600) else {
            throw AgentError(
                .locked, "another agent has been updating the offsite manifest of backup \(backup.id) in vault \(target.vault) for 10 minutes",
                hint: "check `agent status` for a stuck run; `agent resume --all` finishes this upload later", exit: .tempFail)
        }
        defer { withExtendedLifetime(manifestLock) {} }
        var earlier: [OffsiteManifest.File] = []
        // The backup's date, recorded once: backup.json's created_at, else what an earlier
        // upload recorded, else the backup directory's time. Never the time of this upload.
        var createdAt = backup.manifest?.createdAt.flatMap { Timestamp.parseISO8601($0) != nil ? $0 : nil }
        if backup.singleFile {
            // One archive joins the manifest of a backup that is already offsite. Without one, the
            // backup is not complete offsite, and a manifest listing one file would claim it is.
            let existing: HTTPResponse
            do {
                existing = try client.getObject(key: key)
            } catch {
                if let s = error.failure.serviceError, s.status == 404 || s.code == "NoSuchKey" {
                    logger.info(
                        "backup \(backup.id) has no offsite manifest yet: \(entry.files.first?.path ?? "the file") was uploaded; upload the whole backup to complete its offsite copy",
                        metadata: ["key": .string(key), "path": .string(entry.files.first?.path ?? "")])
                    return
                }
                throw StorageErrors.agentError(error, vault: target.vault, bucket: bucket, action: "s3:GetObject")
            }
            let old: OffsiteManifest
            do throws(OffsiteManifest.DecodeError) {
                old = try OffsiteManifest.decode(bytes: existing.body)
            } catch {
                throw AgentError(
                    .rejected, "the offsite manifest \(key) in vault \(target.vault) is not a manifest this agent can read (\(error)); it was left as it is",
                    hint: "upload the whole backup again with `agent upload \(backup.id) --force` to rewrite it", exit: .failed)
            }
            earlier = old.files
            createdAt = createdAt ?? old.createdAt.flatMap { Timestamp.parseISO8601($0) != nil ? $0 : nil }
        } else if createdAt == nil {
            createdAt = try recordedCreatedAt(key: key)
            if createdAt == nil, let fallback = backup.createdAt {
                warn(
                    "backup \(backup.id) has no valid created_at in \(Backup.manifestName): dated by its directory's time, \(fallback); have the backup job write created_at (README: backup.json)"
                )
            }
        }
        createdAt = createdAt ?? backup.createdAt
        var manifest = OffsiteManifest.of(
            sent: entry.files, backupID: backup.id, host: target.host, type: backup.manifest?.type, createdAt: createdAt, agentVersion: agentVersion,
            uploadedAt: Timestamp.now())
        manifest.keep(earlier)
        let bytes = manifest.bytes()
        let sha = Digest.sha256(bytes)
        let lock = lockHeaders()
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")] + lock.headers
        if wantsMD5 { headers.append(("Content-MD5", Digest.md5(bytes).base64String)) }
        if target.integrity.preferred == .checksumSHA256 && target.integrity.checksumAlgorithms.contains("sha256") {
            headers.append(("x-amz-checksum-sha256", sha.base64String))
        }
        do {
            try client.putObject(key: key, body: .bytes(bytes), payloadHash: sha.hexString, headers: headers)
        } catch {
            throw StorageErrors.agentError(error, vault: target.vault, bucket: bucket, action: "s3:PutObject")
        }
        if lock.retainUntil != nil {
            let head: ObjectInfo
            do {
                head = try client.headObject(key: key)
            } catch {
                throw StorageErrors.agentError(error, vault: target.vault, bucket: bucket, action: "s3:GetObject")
            }
            do {
                try confirmLock(key: key, head: head, retainUntil: lock.retainUntil)
            } catch {
                // An unlocked manifest would make the backup look complete and protected: take it away.
                try? client.deleteObject(key: key)
                throw error
            }
        }
    }
}

/// A value handed to another thread by one owner at a time (the digest pool's jobs and results:
/// the hand-over goes through a mutex, so the owner's writes are seen).
struct Unchecked<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
