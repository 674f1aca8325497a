import AgentSupport
import HTTPTransport
import S3

/// `clock`, `credentials`, `region`, `bucket`, `list`: the first signed requests.
extension ConnectionTest {
    /// A listing of at most one key under the prefix: the `list` check's request, and the
    /// request whose error body names the code a bodiless HEAD answer could not.
    var listOperation: S3Client.Operation {
        S3Client.Operation(name: "ListObjectsV2", method: "GET", query: [("list-type", "2"), ("max-keys", "1"), ("prefix", vault.prefix)])
    }

    /// HEAD the bucket; after a failed HEAD, ask once more with ListObjectsV2 for an error body.
    /// Each request is sent once: a refused signature is never repeated.
    func runAuthenticated() -> Bool {
        let headStart = monotonicSeconds()
        let head = client.performOnce(S3Client.Operation(name: "HeadBucket", method: "HEAD"))
        let headMs = Self.millis(since: headStart)
        let answeredAt = Int64(wallClock())
        var headError: S3ServiceError?
        var firstHeaders: [(name: String, value: String)] = []
        switch head.result {
        case .success(let r):
            firstHeaders = r.headers
        case .failure(.service(let s)):
            headError = s
            firstHeaders = s.headers
        case .failure(let other):
            stopOnTransport(other, check: .credentials, what: "sending the first signed request (HeadBucket)", ms: headMs)
            return false
        }

        var listed: HTTPResponse?
        var listError: S3ServiceError?
        var listMs = 0
        var listStringToSign = ""
        if headError != nil {
            let listStart = monotonicSeconds()
            let list = client.performOnce(listOperation)
            listMs = Self.millis(since: listStart)
            listStringToSign = list.stringToSign
            switch list.result {
            case .success(let r): listed = r
            case .failure(.service(let s)): listError = s
            case .failure(let other):
                stopOnTransport(other, check: .credentials, what: "sending ListObjectsV2 after the HEAD was refused", ms: listMs)
                return false
            }
        }
        let errors = [listError, headError].compactMap { $0 }
        // The answer that names the code: the listing's error, else (no listing) the HEAD's.
        let decisive = listError ?? (listed == nil ? headError : nil)
        let signedMs = headMs + listMs

        // clock
        if let skewed = errors.first(where: { Refusal.of($0) == .clockSkew }) {
            // Refused for the request's time (RequestTimeTooSkewed, or an AccessDenied saying so).
            if let server = Refusal.serverTime(skewed) { report.clockSkew = answeredAt - server }
            stop(ClockSkew.refusedFinding(skewed, local: answeredAt, said: skewed.said(context)), ms: signedMs)
            return false
        }
        if let server = ClockSkew.serverTime(dateHeader: header("Date", in: firstHeaders)) {
            report.clockSkew = answeredAt - server
            if let finding = ClockSkew.finding(local: answeredAt, server: server) {
                if finding.status == .fail {
                    stop(finding, ms: headMs)
                    return false
                }
                record(finding, ms: headMs)
            } else {
                record(.clock, .pass, ms: headMs, explanation: "Within \(ClockSkew.describe(answeredAt - server)) of the server's Date header.")
            }
        } else {
            record(.clock, .skip, explanation: "The server's answer carried no Date header: the clock could not be compared.")
        }

        if let decisive {
            let stringToSign = decisive.operation == "ListObjectsV2" ? listStringToSign : head.stringToSign
            if let finding = CredentialDiagnosis.finding(decisive, ourStringToSign: stringToSign, context: context) {
                stop(finding, ms: signedMs)
                return false
            }
            if let finding = RegionDiagnosis.finding(errors, context: context) {
                stop(finding, ms: signedMs)
                return false
            }
            if decisive.code == "NoSuchBucket" || (decisive.status == 404 && (decisive.code.isEmpty || decisive.code == "NotFound")) {
                stop(
                    Finding(
                        .bucket, .fail, .noSuchBucket,
                        "Bucket \(vault.bucket) does not exist at \(vault.endpoint) \(decisive.said(context)).",
                        fix: "create it in \(vault.profile.terms.bucketConsole), or set `bucket` in \(context.section) to the name of an existing bucket"),
                    ms: signedMs)
                return false
            }
            if decisive.code == "InvalidBucketName" {
                stop(
                    Finding(
                        .bucket, .fail, .invalidBucketName, "The server rejects the bucket name \"\(vault.bucket)\" \(decisive.said(context)).",
                        fix: "set `bucket` in \(context.section) to the bucket's exact name as shown in \(vault.profile.terms.bucketConsole)"),
                    ms: signedMs)
                return false
            }
            guard PermissionDiagnosis.isDenial(decisive) else {
                stop(
                    Finding(
                        .bucket, .fail, .rejected, "The server answered the bucket request unexpectedly \(decisive.said(context)).",
                        fix: "check that `endpoint` in \(context.section) is the provider's S3 endpoint; a 5xx answer is the server's trouble: try again later"),
                    ms: signedMs)
                return false
            }
        }

        // The key was accepted: every answer from here on is about authorization, not identity.
        record(.credentials, .pass, ms: signedMs, explanation: "The server accepted a request signed with access key \(vault.credentials.redactedAccessKeyID).")
        let bucketRegion = ([listed?.headers ?? []] + [firstHeaders] + errors.map(\.headers)).lazy.compactMap { self.header("x-amz-bucket-region", in: $0) }.first
        if let warning = RegionDiagnosis.finding(successHeader: bucketRegion, context: context) {
            record(warning)
        } else {
            record(.region, .pass, explanation: bucketRegion.map { "The server reports the bucket in region \"\($0)\", as configured." } ?? "The server accepted requests signed for region \"\(vault.region)\".")
        }

        if let decisive {
            // Both the HEAD and the listing under the prefix were denied: another account's bucket,
            // or a key without s3:ListBucket. A probe write tells them apart (unless --no-write).
            bucketDenial = decisive
            if options.noWrite {
                stop(bucketDeniedFinding(decisive, writeDenied: nil), ms: signedMs)
                return false
            }
            return true
        }
        record(.bucket, .pass, ms: headMs, explanation: headError == nil ? "Bucket \(vault.bucket) exists and answers HEAD." : "Bucket \(vault.bucket) exists: listing under the prefix works (HEAD on the bucket itself is not allowed to this key).")

        if let listed {
            record(.list, .pass, ms: listMs, explanation: listedExplanation(listed))
        } else {
            runList()
        }
        return true
    }

    func runList() {
        let start = monotonicSeconds()
        let list = client.performOnce(listOperation)
        let ms = Self.millis(since: start)
        switch list.result {
        case .success(let r):
            record(.list, .pass, ms: ms, explanation: listedExplanation(r))
        case .failure(.service(let s)):
            record(storageFinding(s, check: .list, action: "s3:ListBucket", what: "listing under prefix \"\(vault.prefix)\""), ms: ms)
        case .failure(let other):
            stopOnTransport(other, check: .list, what: "listing under the prefix", ms: ms)
        }
    }

    func listedExplanation(_ r: HTTPResponse) -> String {
        let count = XMLElement.parse(r.body)?.children("Contents").count ?? 0
        return "Listing under prefix \"\(vault.prefix)\" works (\(count == 0 ? "nothing stored there yet" : "objects found")."
    }

    /// `BUCKET_ACCESS_DENIED`: every request to the bucket was denied.
    func bucketDeniedFinding(_ error: S3ServiceError, writeDenied: S3ServiceError?) -> Finding {
        let tried = writeDenied == nil ? "HEAD on the bucket and a listing under the prefix were" : "HEAD on the bucket, a listing under the prefix and a probe upload were all"
        return Finding(
            .bucket, .fail, .bucketAccessDenied,
            "\(tried) denied \(error.said(context)): bucket \(vault.bucket) exists but this key may not use it. Either it belongs to another account (bucket names are global), or the key lacks s3:ListBucket\(writeDenied == nil ? "" : " and s3:PutObject").",
            fix: "check that `bucket` in \(context.section) is your bucket (\(vault.profile.terms.bucketConsole)); grant s3:ListBucket to this key: \(context.permissionTerm("s3:ListBucket"))")
    }

    /// A refused storage operation as `PERMISSION_DENIED`, `QUOTA_EXCEEDED` or `REJECTED`.
    func storageFinding(_ error: S3ServiceError, check: CheckID, action: String, what: String) -> Finding {
        if Refusal.of(error) == .clockSkew {
            return ClockSkew.refusedFinding(error, local: Int64(wallClock()), check: check, said: error.said(context))
        }
        if var finding = CredentialDiagnosis.finding(error, ourStringToSign: "", context: context) {
            // The same key was accepted before: something about this request differs.
            finding.check = check
            finding.status = check == .delete ? .warn : .fail
            finding.explanation = "Earlier requests with this key were accepted, but \(what) was refused. " + finding.explanation
            return finding
        }
        if PermissionDiagnosis.isDenial(error) || PermissionDiagnosis.isQuota(error) {
            return PermissionDiagnosis.finding(error, check: check, action: action, what: what, context: context)
        }
        return Finding(
            check, check == .delete ? .warn : .fail, .rejected, "The server refused \(what) \(error.said(context)).",
            fix: "this is not a permission the agent can name: check the bucket's settings in \(vault.profile.terms.bucketConsole) and the provider's documentation for \(error.code.isEmpty ? "HTTP \(error.status)" : error.code)")
    }

    /// A request that got no HTTP answer after the connection checks passed.
    func stopOnTransport(_ failure: S3Failure, check: CheckID, what: String, ms: Int) {
        switch failure {
        case .transport(let t) where t.kind == .aborted:
            stopReason = "interrupted"
        case .transport(let t):
            var finding = TransportDiagnosis.finding(
                t, host: hostName(client.location.hostHeader), port: client.location.port ?? (client.location.scheme == "https" ? 443 : 80), verifyResult: 0,
                context: context)
            // Reported where it happened: the connection checks before it had passed.
            finding.check = check
            finding.explanation = "While \(what): " + finding.explanation
            stop(finding, ms: ms)
        case .invalidResponse(let op, let detail):
            stop(
                Finding(
                    check, .fail, .rejected, "While \(what): the answer to \(op) was not S3 (\(detail)).",
                    fix: "check that `endpoint` in \(context.section) points at the S3 API, not a web console or another service"), ms: ms)
        case .service(let s):
            stop(storageFinding(s, check: check, action: "", what: what), ms: ms)
        }
    }

    func header(_ name: String, in headers: [(name: String, value: String)]) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }
}
