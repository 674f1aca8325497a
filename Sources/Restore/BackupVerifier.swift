import Age
import AgentSupport
import HTTPTransport
import Hashing
import S3
import Vault

/// Checks an offsite copy against its manifest: every object present with its size (HEAD), and
/// with `deep`, every byte downloaded and re-hashed in constant memory.
public final class BackupVerifier {
    public let session: VaultSession
    /// Bytes per ranged GET when re-hashing; at most `concurrency` of them are held at once.
    public var chunkSize: Int64 = 4 << 20
    /// Called with bytes newly downloaded and hashed.
    public var onProgress: ((_ bytes: Int64) -> Void)?
    /// With `deep`: identities that open encrypted files, so every chunk is also authenticated.
    public var identities: [AgeIdentity]?

    public init(session: VaultSession) {
        self.session = session
    }

    public func verify(backup: String, deep: Bool) throws(AgentError) -> VerifyReport {
        try verify(session.requireManifest(of: backup), deep: deep)
    }

    /// Verifies the files a manifest (already read from the vault) names.
    public func verify(_ manifest: OffsiteManifest, deep: Bool) throws(AgentError) -> VerifyReport {
        let started = monotonicSeconds()
        let backup = manifest.backup
        var report = VerifyReport(backup: backup, vault: session.vault, deep: deep, files: [], bytesRead: 0, seconds: 0, unchecked: 0)
        let (files, present) = try headAll(manifest)
        report.files = files
        for (index, file) in manifest.files.enumerated() {
            // Re-hashed even when the ETag already differs: the report says which bytes differ.
            if deep, present[index] {
                let (problems, unchecked) = try rehash(file, key: report.files[index].key, report: &report)
                if unchecked == 0 { report.files[index].checkedBy = "download" }
                if !problems.isEmpty {
                    report.files[index].status = .mismatch
                    report.files[index].problems += problems
                }
                report.unchecked += unchecked
            }
            let result = report.files[index]
            if result.status != .ok {
                session.logger.warning(
                    "verify \(backup): \(file.path): \(result.problems.joined(separator: "; "))",
                    metadata: ["backup": .string(backup), "path": .string(file.path), "key": .string(file.key)])
            }
        }
        report.seconds = monotonicSeconds() - started
        return report
    }

    /// One HEAD per file, up to `concurrency` in flight through the transfer loop (issue 19): each
    /// object exists with the manifest's size (and ETag, where both are of the same kind). Returns
    /// every file's result so far and whether it exists with the right size (worth re-hashing).
    private func headAll(_ manifest: OffsiteManifest) throws(AgentError) -> (files: [VerifyReport.File], present: [Bool]) {
        var files = manifest.files.map { file in
            VerifyReport.File(
                path: file.path, key: file.key.isEmpty ? session.backupPrefix(manifest.backup) + file.path : file.key, size: file.size, status: .ok, problems: [])
        }
        var present = [Bool](repeating: false, count: files.count)
        var next = 0
        var failure: AgentError?
        let window = TransferWindow(client: session.client, concurrency: session.concurrency)
        window.fill = { [self, unowned window] in
            while window.hasRoom, next < files.count {
                let index = next
                next += 1
                let file = manifest.files[index]
                if !file.partsAreConsistent {
                    files[index].status = .mismatch
                    files[index].problems.append("the manifest's part list does not describe a file of \(file.size) bytes")
                }
                window.send(session.client.headObjectOperation(key: files[index].key, checksumMode: wantsStoredChecksum(file))) { [self] result, attempts in
                    switch result {
                    case .success(let answer):
                        present[index] = judge(file, ObjectInfo(headAnswer: answer), into: &files[index])
                    case .failure(let f):
                        if let s = f.serviceError, s.status == 404 {
                            files[index].status = .missing
                            files[index].problems.append("the object \(files[index].key) is missing")
                        } else {
                            failure = failure ?? session.storageError(S3Error(failure: f, attempts: attempts), action: "s3:GetObject")
                            window.stop()
                        }
                    }
                }
            }
        }
        window.run(until: { next == files.count })
        window.fill = {}
        if session.http.shouldCancel() {
            throw AgentError(.interrupted, "interrupted while checking the objects of backup \(manifest.backup)", hint: "run `agent verify` again", exit: .tempFail)
        }
        if let failure { throw failure }
        return (files, present)
    }

    /// Compares a HEAD's answer with the manifest: the size, the ETag where both are of the same
    /// kind, the stored CRC-32C where the server gives one. Returns whether the size matches.
    private func judge(_ file: OffsiteManifest.File, _ info: ObjectInfo, into result: inout VerifyReport.File) -> Bool {
        result.retention = ObjectRetention.from(info)
        if info.size != file.size {
            result.status = .mismatch
            result.problems.append("stored with \(info.size) bytes, the manifest says \(file.size)")
        }
        // A multipart ETag ("…-N") and a plain MD5 cannot be compared with each other.
        if !file.etag.isEmpty, !info.etag.isEmpty, file.etag.contains("-") == info.etag.contains("-"), file.etag.lowercased() != info.etag.lowercased() {
            result.status = .mismatch
            result.problems.append("stored ETag \(info.etag) differs from the manifest's \(file.etag): the object was replaced")
        }
        if case .crc32c(let expected) = file.checksum, let text = info.header("x-amz-checksum-crc32c") {
            // The server's full-object CRC-32C of what it stores (a composite "…-N" value is of parts: not comparable).
            if let stored = CRC32C.parseHeader(text) {
                if stored == expected {
                    result.checkedBy = "crc32c"
                } else {
                    result.status = .mismatch
                    result.problems.append("the stored object's CRC-32C \(CRC32C.hex(stored)) differs from the manifest's \(CRC32C.hex(expected))")
                }
            }
        }
        return info.size == file.size
    }

    /// Whether to ask the server for its stored checksum: the manifest has one it can be compared
    /// with (a file sent with x-amz-checksum-crc32c; other providers are never sent the header).
    private func wantsStoredChecksum(_ file: OffsiteManifest.File) -> Bool {
        if case .crc32c = file.checksum { return true }
        return false
    }

    /// Downloads the object in ranges (several in flight) and hashes it in order.
    private func rehash(_ file: OffsiteManifest.File, key: String, report: inout VerifyReport) throws(AgentError) -> (problems: [String], unchecked: Int) {
        let verifier = SegmentVerifier(segments: file.segments)
        // An encrypted file, with an identity: every chunk is authenticated as it streams past.
        let decryptor = file.encryption != nil ? identities.map { AgeStreamDecryptor(totalSize: file.size, identities: $0) { _ in } } : nil
        var decryptProblem: AgeError?
        let chunks = VaultSession.chunks(size: file.size, chunkSize: chunkSize)
        var next = 0
        var failure: AgentError?
        var problem: String?
        var bytes: Int64 = 0

        // Ranges are hashed in order: those that arrive ahead of a slow one wait in memory. At most
        // `concurrency + 1` ranges are in flight or waiting, so a held-back range cannot make memory grow.
        var arrivals = OrderedArrivals<[UInt8]>(capacity: session.concurrency + 1)
        let window = TransferWindow(client: session.client, concurrency: session.concurrency)
        window.onProgress = onProgress
        window.fill = { [self, unowned window] in
            while window.hasRoom, next < chunks.count, arrivals.mayClaim(next) {
                let index = next
                next += 1
                let (offset, length) = chunks[index]
                let get = session.rangedGet(key: key, offset: offset, length: length, sink: .memory(limit: Int(length)))
                window.send(get, progress: length) { [self] result, attempts in
                    switch result {
                    case .success(let response):
                        if let p = VaultSession.rangeProblem(response, offset: offset, length: length, objectSize: file.size) {
                            problem = p
                            window.stop()
                            return
                        }
                        arrivals.arrived(index, response.body)
                        while let body = arrivals.next() {
                            verifier.update(body)
                            if let decryptor, decryptProblem == nil {
                                do {
                                    try body.withUnsafeBytes { try decryptor.update($0) }
                                } catch {
                                    decryptProblem = error as? AgeError ?? .payload("\(error)")
                                }
                            }
                            bytes += Int64(body.count)
                        }
                    case .failure(let f):
                        if let s = f.serviceError, s.status == 404 || s.status == 416 {
                            problem = "the object changed while being read (\(s.code.isEmpty ? "HTTP \(s.status)" : s.code))"
                        } else {
                            failure = session.storageError(S3Error(failure: f, attempts: attempts), action: "s3:GetObject")
                        }
                        window.stop()
                    }
                }
            }
        }
        window.run(until: { next == chunks.count })
        window.fill = {}
        report.bytesRead += bytes
        if session.http.shouldCancel() {
            throw AgentError(.interrupted, "interrupted while verifying \(file.path)", hint: "run `agent verify` again", exit: .tempFail)
        }
        if let failure { throw failure }
        if let problem { return ([problem], 0) }
        guard verifier.isComplete else { return (["only \(verifier.position) of \(file.size) bytes could be read"], 0) }
        if let decryptor, decryptProblem == nil {
            do {
                let size = try decryptor.finish()
                if size != file.plaintextSize { decryptProblem = .payload("it decrypts to \(size) bytes, the manifest says \(file.plaintextSize)") }
            } catch {
                decryptProblem = error as? AgeError ?? .payload("\(error)")
            }
        }
        if decryptProblem == .noMatch {
            throw AgentError(
                .identityMismatch, "no given identity opens \(file.path) of this backup in vault \(session.vault); it is encrypted to \((file.encryption?.recipients ?? []).joined(separator: ", "))",
                hint: "pass --identity with the identity file of one of those recipients (`age-keygen -y FILE` prints a file's recipient)")
        }
        var problems = verifier.mismatches.map { index -> String in
            let segment = verifier.segments[index]
            if verifier.segments.count == 1 { return "content differs: its \(segment.crc32c != nil ? "CRC-32C" : "SHA-256") is not the manifest's" }
            return "content differs: part \(index + 1) (bytes \(segment.offset)-\(segment.offset + segment.length - 1)) has another SHA-256 than the manifest's"
        }
        if let decryptProblem { problems.append("decryption: \(decryptProblem)") }
        return (problems, verifier.unchecked)
    }
}
