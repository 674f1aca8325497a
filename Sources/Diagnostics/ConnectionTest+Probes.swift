import AgentSupport
import Hashing
import HTTPTransport
import S3
import SigV4

/// `write`, `multipart`, `delete`: a probe object and a probe multipart upload under the vault's
/// prefix, named `<prefix>.offsite-agent-probe-<random>` so anyone listing the bucket knows
/// what they are, and always removed.
extension ConnectionTest {
    static let probeMarker = ".offsite-agent-probe-"
    static let probeBody = Array("offsite-agent connection test probe: safe to delete\n".utf8)

    /// A fresh probe key under the prefix.
    static func newProbeKey(prefix: String) -> String {
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return prefix + probeMarker + String(repeating: "0", count: max(0, 16 - random.count)) + random
    }

    /// Whether uploads to this vault send Content-MD5 (the upload engine's rule).
    var wantsMD5: Bool {
        let integrity = vault.profile.integrity
        return contentMD5Required || integrity.preferred == .contentMD5 || (integrity.etagIsMD5 && integrity.contentMD5)
    }

    /// Storage class and server-side encryption as uploads send them.
    func uploadHeaders(encryption: String?) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        if let sc = vault.storageClass { headers.append(("x-amz-storage-class", sc)) }
        if let sse = encryption { headers.append(("x-amz-server-side-encryption", sse)) }
        return headers
    }

    func runWrites() {
        guard !options.noWrite else {
            for id in [CheckID.write, .multipart, .delete] {
                record(id, .skip, explanation: "Skipped: --no-write.")
            }
            return
        }
        let writeOK = runWrite()
        if let denial = bucketDenial {
            // A probe stored (even one the write check faults) proves the bucket is ours.
            // Only a permission refusal of the probe too means "not usable by this key at all";
            // a timeout or a quota answer keeps its own finding.
            guard probeKey != nil else {
                if results[.write] == nil || results[.write]?.code == .permissionDenied {
                    // Everything was denied: the bucket is not usable by this key at all.
                    results[.write] = nil
                    stop(bucketDeniedFinding(denial, writeDenied: denial))
                }
                // Otherwise the write's own finding (a timeout, a quota) stands; the rest is skipped.
                return
            }
            record(.bucket, .pass, explanation: "Bucket \(vault.bucket) exists and accepts this key's uploads.")
            record(storageFinding(denial, check: .list, action: "s3:ListBucket", what: "listing under prefix \"\(vault.prefix)\""))
        }
        if writeOK || results[.write]?.code != .permissionDenied {
            runMultipart()
        } else {
            record(.multipart, .skip, explanation: "Skipped: multipart uploads need s3:PutObject too, which the write check showed is denied.")
        }
        runDelete()
    }

    /// `write`: PUT the probe as an upload would (integrity header, storage class, encryption).
    /// An Object Lock demand for Content-MD5 is met by sending it, as uploads do; a denial with no
    /// encryption configured is tried once more with AES256 to detect a policy requiring it.
    func runWrite() -> Bool {
        let key = Self.newProbeKey(prefix: vault.prefix)
        let start = monotonicSeconds()
        let what = "writing probe object \(key)"
        var outcome = put(key: key, encryption: vault.serverSideEncryption)
        if case .failure(.service(let s)) = outcome, PermissionDiagnosis.isObjectLockDemand(s), !wantsMD5 {
            contentMD5Required = true
            outcome = put(key: key, encryption: vault.serverSideEncryption)
            if case .success = outcome {
                probeKey = key
                record(
                    .write, .warn, ms: Self.millis(since: start), code: .objectLock,
                    explanation:
                        "The bucket has Object Lock: it refused the probe without a checksum \(s.said(context)) and accepted it with Content-MD5. Uploads send Content-MD5 on every PUT and part to this bucket on their own; objects stay until their retention ends, so `agent prune` cannot free space sooner.",
                    fix: "nothing to change for uploads (Content-MD5 is sent automatically); check the bucket's default retention in \(vault.profile.terms.bucketConsole) matches your keep_days")
                return true
            }
        }
        switch outcome {
        case .success:
            probeKey = key
            record(.write, .pass, ms: Self.millis(since: start), explanation: "Probe object \(key) written.")
            return true
        case .failure(.service(let s)):
            if PermissionDiagnosis.isDenial(s), !PermissionDiagnosis.isQuota(s), vault.serverSideEncryption == nil,
                case .success = put(key: key, encryption: "AES256")
            {
                probeKey = key
                record(
                    .write, .fail, ms: Self.millis(since: start), code: .permissionDenied,
                    explanation:
                        "The server denied s3:PutObject for an upload without server-side encryption \(s.said(context)) and accepted the same upload with x-amz-server-side-encryption: AES256: a bucket policy requires encryption.",
                    fix: "set `server_side_encryption = \"AES256\"` in \(context.section) (or \"aws:kms\" if the policy demands KMS)")
                return false
            }
            record(storageFinding(s, check: .write, action: "s3:PutObject", what: what), ms: Self.millis(since: start))
            return false
        case .failure(let other):
            stopOnTransport(other, check: .write, what: what, ms: Self.millis(since: start))
            return false
        }
    }

    func put(key: String, encryption: String?) -> Result<HTTPResponse, S3Failure> {
        let body = Self.probeBody
        var headers: [(name: String, value: String)] = [("Content-Type", "text/plain")]
        if wantsMD5 { headers.append(("Content-MD5", Digest.md5(body).base64String)) }
        headers += uploadHeaders(encryption: encryption) + lockProbeHeaders()
        let op = S3Client.Operation(name: "PutObject", method: "PUT", key: key, headers: headers, body: .bytes(body), payloadHash: Digest.sha256(body).hexString)
        let result = client.perform(op).result
        if case .success = result { probeKeysWritten.append(key) }
        return result
    }

    /// `multipart`: create, upload one part to, list the parts of, and abort a probe upload.
    /// The abort is attempted whenever the upload was created.
    func runMultipart() {
        guard stopReason == nil else { return }
        let key = Self.newProbeKey(prefix: vault.prefix) + "-multipart"
        let start = monotonicSeconds()
        let uploadID: String
        do {
            uploadID = try client.createMultipartUpload(key: key, headers: uploadHeaders(encryption: vault.serverSideEncryption))
        } catch {
            recordMultipart(error.failure, action: "s3:PutObject", what: "starting multipart upload \(key)", start: start)
            return
        }
        var failure: (S3Failure, String, String)?
        let part = Array(repeating: UInt8(ascii: "p"), count: 1024)
        var headers: [(name: String, value: String)] = []
        if wantsMD5 { headers.append(("Content-MD5", Digest.md5(part).base64String)) }
        let op = client.uploadPartOperation(
            key: key, uploadID: uploadID, partNumber: 1, body: .bytes(part), payloadHash: Digest.sha256(part).hexString, headers: headers)
        if case .failure(let f) = client.perform(op).result {
            failure = (f, "s3:PutObject", "uploading part 1 of probe upload \(key)")
        } else {
            do {
                let parts = try client.listParts(key: key, uploadID: uploadID)
                if parts.isEmpty {
                    failure = (.invalidResponse(operation: "ListParts", detail: "the part just uploaded is not listed"), "", "listing the probe upload's parts")
                }
            } catch {
                failure = (error.failure, "s3:ListMultipartUploadParts", "listing the parts of probe upload \(key) (resume needs this)")
            }
        }
        do {
            try client.abortMultipartUpload(key: key, uploadID: uploadID)
        } catch {
            let remains =
                " The probe upload \(key) (upload id \(uploadID)) remains until it is aborted: once s3:AbortMultipartUpload is granted, `agent cleanup --vault \(vault.name)` removes it, or a lifecycle rule aborting incomplete multipart uploads does."
            if let (f, action, what) = failure {
                recordMultipart(f, action: action, what: what, start: start, note: remains)
            } else {
                recordMultipart(error.failure, action: "s3:AbortMultipartUpload", what: "aborting probe upload \(key)", start: start, note: remains)
            }
            return
        }
        if let (f, action, what) = failure {
            recordMultipart(f, action: action, what: what, start: start, note: " The probe upload was aborted.")
            return
        }
        record(.multipart, .pass, ms: Self.millis(since: start), explanation: "Probe multipart upload \(key): created, part 1 uploaded and listed, aborted.")
    }

    func recordMultipart(_ failure: S3Failure, action: String, what: String, start: Double, note: String = "") {
        let ms = Self.millis(since: start)
        switch failure {
        case .service(let s):
            var finding = storageFinding(s, check: .multipart, action: action, what: what)
            finding.explanation += note
            record(finding, ms: ms)
        case .transport(let t) where t.kind == .aborted:
            stopReason = "interrupted"
        default:
            stopOnTransport(failure, check: .multipart, what: what, ms: ms)
            if !note.isEmpty { results[.multipart]?.explanation += note }
        }
    }

    /// `delete`: remove the probe object (a failure is a warning: uploads work without it).
    func runDelete() {
        guard let key = probeKey else {
            record(.delete, .skip, explanation: "Skipped: no probe object was written.")
            return
        }
        let start = monotonicSeconds()
        do {
            try client.deleteObject(key: key)
            probeKey = nil
            record(.delete, .pass, ms: Self.millis(since: start), explanation: "Probe object \(key) deleted.")
        } catch {
            let ms = Self.millis(since: start)
            let remains = " The probe object \(key) remains; delete it once the permission is granted."
            if case .service(let s) = error.failure {
                var finding = storageFinding(s, check: .delete, action: "s3:DeleteObject", what: "deleting probe object \(key)")
                finding.explanation += remains
                record(finding, ms: ms)
            } else {
                record(
                    .delete, .warn, ms: ms, code: .rejected, explanation: "Deleting probe object \(key) failed: \(error.failure).\(remains)",
                    fix: "run `agent test-connection --vault \(vault.name)` again when the connection is stable")
            }
        }
    }
}
