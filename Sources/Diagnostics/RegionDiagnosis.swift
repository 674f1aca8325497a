import AgentSupport
import S3

/// Finds a wrong `region` in what the server sent, and the region it expects. The answers:
/// - AWS, wrong regional endpoint: 301 `PermanentRedirect` with `<Endpoint>` and `<Bucket>`
///   (appoxy/aws#110; cosmin/s3-bash#5), on HEAD a bare 301 with `x-amz-bucket-region`
///   (lyft/clutch#3027, awspring/spring-cloud-aws#452); 307 `TemporaryRedirect` with the header
///   while a new bucket's DNS settles (aws/aws-cli#2431).
/// - AWS, right endpoint but signed for another region: 400 `AuthorizationHeaderMalformed`
///   "the region 'us-east-1' is wrong; expecting 'eu-central-1'" with `<Region>` and the
///   `x-amz-bucket-region` header (jsoma/flatware#10).
/// - AWS opt-in regions reached through another region: `IllegalLocationConstraintException`
///   "The ap-east-1 location constraint is incompatible for the region specific endpoint this
///   request was sent to."
/// - R2: 400 `InvalidRegionName` "The region name 'cn-north-1' is not valid. Must be one of:
///   wnam, enam, weur, eeur, apac, oc, auto" (jeessy2/backup-x#127); R2 wants `auto`
///   (apache/opendal#912).
/// - MinIO: `AuthorizationHeaderMalformed` "the region is wrong; expecting 'us-east-1'"
///   (minio/minio-java#733) or `InvalidRegion` "Region does not match." (minio/minio#3384).
public enum RegionDiagnosis {
    static let regionCodes: Set<String> = [
        "PermanentRedirect", "TemporaryRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException", "InvalidRegionName",
        "InvalidRegion",
    ]

    /// Whether `error` says the request went to the wrong region, and the region the server
    /// expects when it names one.
    public static func analyse(_ error: S3ServiceError, configured: String) -> (wrongRegion: Bool, expected: String?) {
        let header = error.header("x-amz-bucket-region").flatMap { $0.isEmpty ? nil : $0 }
        switch error.code {
        case "PermanentRedirect", "TemporaryRedirect":
            let fromEndpoint = error.details["Endpoint"].flatMap(region(fromEndpoint:))
            return (true, header ?? fromEndpoint)
        case "AuthorizationHeaderMalformed":
            // "the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/..."" is about
            // the key, not the region: only a region-shaped value counts.
            let quoted = quotedAfter("expecting", in: error.message).flatMap { isRegionName($0) ? $0 : nil }
            let named = error.details["Region"].flatMap { $0.isEmpty ? nil : $0 } ?? quoted
            let aboutRegion = named != nil || (error.message.lowercased().contains("region") && !error.message.contains("Credential"))
            return (aboutRegion, named ?? header)
        case "IllegalLocationConstraintException":
            var named = header
            if named == nil, let r = between("The ", " location constraint", in: error.message) {
                named = r == "unspecified" ? "us-east-1" : r
            }
            return (true, named)
        case "InvalidRegionName":
            if let list = after("Must be one of:", in: error.message) {
                let choices = list.split(separator: ",").map { String($0).trimming(" .") }.filter { !$0.isEmpty }
                return (true, choices.contains("auto") ? "auto" : choices.first)
            }
            return (true, header)
        case "InvalidRegion":
            return (true, header)
        default:
            break
        }
        // Bodiless answers (HEAD): a redirect, or a 400 naming another region in the header.
        if error.code.isEmpty, [301, 307, 400].contains(error.status), let header, header != configured {
            return (true, header)
        }
        if error.code.isEmpty, error.status == 301 { return (true, header) }
        return (false, nil)
    }

    /// The region in an S3 endpoint host: `bucket.s3.eu-west-1.amazonaws.com`,
    /// `bucket.s3-eu-west-1.amazonaws.com`, `s3.dualstack.eu-west-1.amazonaws.com`; the global
    /// `s3.amazonaws.com` and `s3-external-1` are us-east-1.
    public static func region(fromEndpoint endpoint: String) -> String? {
        var host = endpoint
        if let scheme = host.firstRange(of: "://") { host = String(host[scheme.upperBound...]) }
        if let slash = host.firstIndex(of: "/") { host = String(host[..<slash]) }
        let labels = host.lowercased().split(separator: ".").map(String.init)
        guard let s3 = labels.lastIndex(where: { $0 == "s3" || $0.hasPrefix("s3-") }) else { return nil }
        if labels[s3].hasPrefix("s3-") {
            let r = String(labels[s3].dropFirst(3))
            return r == "external-1" ? "us-east-1" : r
        }
        var next = s3 + 1
        if next < labels.count, labels[next] == "dualstack" { next += 1 }
        guard next < labels.count else { return nil }
        if labels[next] == "amazonaws" { return "us-east-1" }
        return labels[next]
    }

    /// Whether two region names mean the same for this provider: "" is us-east-1 on AWS
    /// (GetBucketLocation's empty answer), and a provider with one allowed region (R2's `auto`)
    /// cannot be in another.
    public static func same(_ a: String, _ b: String, context: DiagnosisContext) -> Bool {
        if context.profile.regions.count == 1 { return true }
        func norm(_ r: String) -> String { r.isEmpty ? "us-east-1" : r.lowercased() }
        return norm(a) == norm(b)
    }

    /// The `region` finding for an error answer, or nil when it is not about the region.
    public static func finding(_ error: S3ServiceError, context: DiagnosisContext) -> Finding? {
        let (wrong, expected) = analyse(error, configured: context.region)
        guard wrong else { return nil }
        if let expected, same(expected, context.region, context: context), error.code.isEmpty { return nil }
        let said = error.said(context)
        let configured = "region \"\(context.region)\" (configured in \(context.section))"
        if let expected {
            return Finding(
                .region, .fail, .wrongRegion,
                "The server says bucket \(context.bucket) is in region \"\(expected)\", but requests were signed for \(configured) \(said).",
                fix: fix(expected: expected, context: context))
        }
        return Finding(
            .region, .fail, .wrongRegion,
            "The server refused \(configured) for bucket \(context.bucket) without naming the right one \(said).",
            fix: "set `region` in \(context.section) to the bucket's region as shown in \(context.profile.terms.bucketConsole). \(context.profile.regionHint)")
    }

    /// The `region` finding from several answers to the same test (a bodiless HEAD, then the
    /// listing): the first that is about the region, naming the region any of them names.
    public static func finding(_ errors: [S3ServiceError], context: DiagnosisContext) -> Finding? {
        guard let first = errors.lazy.compactMap({ finding($0, context: context) }).first else { return nil }
        if first.explanation.contains("without naming the right one") {
            for e in errors {
                let (wrong, expected) = analyse(e, configured: context.region)
                if wrong, let expected, !same(expected, context.region, context: context) {
                    return Finding(
                        .region, .fail, .wrongRegion,
                        "The server says bucket \(context.bucket) is in region \"\(expected)\", but requests were signed for region \"\(context.region)\" (configured in \(context.section)) \(e.said(context)).",
                        fix: fix(expected: expected, context: context))
                }
            }
        }
        return first
    }

    /// A warning when a successful answer reports the bucket in another region than configured.
    public static func finding(successHeader header: String?, context: DiagnosisContext) -> Finding? {
        guard let header, !header.isEmpty, !same(header, context.region, context: context) else { return nil }
        return Finding(
            .region, .warn, .wrongRegion,
            "The server accepted the request but reports bucket \(context.bucket) in region \"\(header)\" (x-amz-bucket-region), not \"\(context.region)\" as configured in \(context.section).",
            fix: fix(expected: header, context: context))
    }

    /// `set region = "X" in [vaults.N] in FILE`, plus the endpoint when it carries the old region.
    static func fix(expected: String, context: DiagnosisContext) -> String {
        var fix = "set `region = \"\(expected)\"` in \(context.section)"
        let derived = (try? context.profile.endpoint(region: context.region, settings: [:])) == context.endpoint
        if !derived, !context.region.isEmpty, context.endpoint.contains(context.region) {
            fix += " and `endpoint = \"\(context.endpoint.replacingAll(context.region, with: expected))\"`"
        }
        return fix
    }

    static func quotedAfter(_ word: String, in text: String) -> String? {
        guard let r = text.firstRange(of: word) else { return nil }
        let rest = text[r.upperBound...]
        guard let open = rest.firstIndex(where: { $0 == "'" || $0 == "\"" }) else { return nil }
        let quote = rest[open]
        let after = rest[rest.index(after: open)...]
        guard let close = after.firstIndex(of: quote) else { return nil }
        let value = String(after[..<close])
        return value.isEmpty ? nil : value
    }

    static func between(_ start: String, _ end: String, in text: String) -> String? {
        guard let e = text.firstRange(of: end) else { return nil }
        let head = text[..<e.lowerBound]
        guard let s = head.ranges(of: start).last else { return nil }
        let value = String(head[s.upperBound...])
        return value.isEmpty || value.contains(" ") ? nil : value
    }

    /// `us-east-1`, `eu-central-1`, `auto`, `fra1`: lowercase letters, digits and dashes.
    static func isRegionName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 40 && text.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }

    static func after(_ marker: String, in text: String) -> String? {
        guard let r = text.firstRange(of: marker) else { return nil }
        return String(text[r.upperBound...])
    }
}
