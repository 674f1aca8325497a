import AgentSupport
import S3

/// `agent cleanup`: multipart uploads under the vault prefix that no live journal entry owns
/// and that are older than a cutoff — abandoned parts the provider bills for.
public enum StaleUploads {
    public struct Candidate: Sendable {
        public var key: String
        public var uploadID: String
        public var initiated: String
        public var aborted: Bool
        public var error: String?
    }

    /// Lists, and unless `dryRun` aborts, the stale uploads.
    public static func clean(client: S3Client, prefix: String, olderThan: Double, owned: Set<String>, now: Int64, dryRun: Bool) throws(S3Error) -> [Candidate] {
        var result: [Candidate] = []
        for upload in try client.listMultipartUploads(prefix: prefix) where !owned.contains(upload.uploadID) {
            // An upload whose start time we cannot read is treated as old: it is not ours.
            if let started = Timestamp.parseISO8601(upload.initiated), Double(now - started) < olderThan { continue }
            var candidate = Candidate(key: upload.key, uploadID: upload.uploadID, initiated: upload.initiated, aborted: false, error: nil)
            if !dryRun {
                do {
                    try client.abortMultipartUpload(key: upload.key, uploadID: upload.uploadID)
                    candidate.aborted = true
                } catch {
                    if error.failure.isUnknownUpload { candidate.aborted = true } else { candidate.error = error.description }
                }
            }
            result.append(candidate)
        }
        return result
    }
}
