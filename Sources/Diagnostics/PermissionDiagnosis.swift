import AgentSupport
import S3

/// Explains a refused operation after the key was accepted: which action was denied, in AWS
/// terms and the provider's own, and why when the server says. AWS names the action and the
/// policy type in its message: "User: arn:... is not authorized to perform: s3:PutObject on
/// resource: \"arn:aws:s3:::b/k\" with an explicit deny in a resource-based policy"
/// (usdigitalresponse/usdr-gost#4044, noobaa/noobaa-core#10060), "... because no
/// identity-based policy allows the s3:PutObject action"; KMS denials name `kms:GenerateDataKey`
/// or `kms:Decrypt`. Older answers and most other servers say only "Access Denied"
/// (aws/aws-cli#813).
public enum PermissionDiagnosis {
    /// Codes that mean "out of space or over quota". MinIO: `XMinioAdminBucketQuotaExceeded`,
    /// `XMinioStorageFull`; HTTP 507 `InsufficientStorage`; others as named. B2 answers a
    /// storage cap with a 403 whose message says "cap exceeded" (heuristic, unconfirmed).
    static let quotaCodes: Set<String> = [
        "QuotaExceeded", "StorageQuotaExceeded", "InsufficientStorage", "XMinioAdminBucketQuotaExceeded", "XMinioStorageFull", "StorageFull",
    ]

    /// Whether the answer is a denial (403 / `AccessDenied`).
    public static func isDenial(_ error: S3ServiceError) -> Bool {
        // A denial for the request's time is a clock problem, never a permission (shared mapping).
        if Refusal.isRequestTime(error) { return false }
        return error.code == "AccessDenied" || (error.code.isEmpty && error.status == 403)
    }

    public static func isQuota(_ error: S3ServiceError) -> Bool {
        let m = error.message.lowercased()
        return quotaCodes.contains(error.code) || error.status == 507 || m.contains("cap exceeded") || m.contains("quota exceeded")
    }

    /// Object Lock buckets refuse a PUT or part without a checksum: 400 `InvalidRequest`
    /// "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with
    /// Object Lock parameters" (versity/versitygw#1740; s3tools/s3cmd#1436 for parts).
    public static func isObjectLockDemand(_ error: S3ServiceError) -> Bool {
        error.code == "InvalidRequest" && (error.message.contains("Content-MD5") || error.message.contains("x-amz-checksum"))
    }

    /// The action the server names in its message (`s3:PutObject`, `kms:GenerateDataKey`).
    public static func namedAction(in message: String) -> String? { Refusal.namedAction(in: message) }

    /// The `PERMISSION_DENIED` (or `QUOTA_EXCEEDED`) finding for `check`, whose request needed `action`.
    public static func finding(_ error: S3ServiceError, check: CheckID, action: String, what: String, context: DiagnosisContext) -> Finding {
        let said = error.said(context)
        let status: CheckStatus = check == .delete ? .warn : .fail
        if isQuota(error) {
            return Finding(
                check, status, .quotaExceeded, "The server refused \(what) because the account or bucket is out of quota \(said).",
                fix: "raise the storage quota or cap in \(context.profile.terms.bucketConsole), or free space (`agent prune --vault \(context.vaultName)`)")
        }
        let named = namedAction(in: error.message)
        if let named, named.hasPrefix("kms:") {
            return Finding(
                check, status, .permissionDenied,
                "The server denied \(named) on the bucket's KMS key while \(what) \(said): objects are encrypted with a KMS key this identity may not use.",
                fix: "allow \(named) (uploads need kms:GenerateDataKey, multipart and reads kms:Decrypt) on the bucket's KMS key, in the key policy or this identity's IAM policy")
        }
        let denied = named ?? action
        var explanation = "The server denied \(denied) while \(what) \(said)"
        let m = error.message
        if m.contains("explicit deny in a resource-based policy") {
            explanation += ": a bucket policy explicitly denies it"
        } else if m.contains("explicit deny in a service control policy") || m.contains("resource control policy") {
            explanation += ": an AWS Organizations policy denies it"
        } else if m.contains("no identity-based policy allows") {
            explanation += ": no policy of this identity allows it"
        }
        var fix = "grant \(denied) to this key: \(context.permissionTerm(denied))"
        if m.contains("explicit deny") {
            fix = "an explicit deny wins over any grant: have the bucket or organization policy's owner exempt this key from the statement denying \(denied)"
            if context.serverSideEncryption == nil, denied == "s3:PutObject" {
                fix += "; if that statement requires server-side encryption, set `server_side_encryption = \"AES256\"` (or \"aws:kms\") in \(context.section)"
            }
        }
        return Finding(check, status, .permissionDenied, explanation + ".", fix: fix)
    }
}
