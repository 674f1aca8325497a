import AgentSupport
import S3

/// Explains a refused signature or key (`credentials`). Sources of the answers' shapes:
/// - AWS `SignatureDoesNotMatch` carries `<StringToSign>`, `<SignatureProvided>` and
///   `<CanonicalRequest>` (minio/minio#2986 quotes the AWS body); MinIO, rclone and R2 send none.
/// - AWS `InvalidAccessKeyId`: "The AWS Access Key Id you provided does not exist in our records."
/// - B2: "The key '<keyID>' is not valid" for a key unknown at that endpoint, which is also what
///   a valid key gets at another region's endpoint (peak/s5cmd#269), and "Malformed Access Key Id"
///   for a key id of the wrong shape, such as the master key (AlistGo/alist#8364).
/// - R2: 400 `InvalidArgument` "Credential access key has length 64, should be 32" when the
///   secret (64 hex characters) is pasted as the id (cloudflare/cloudflare-docs#9557).
/// - AWS `ExpiredToken` "The provided token has expired." with `<Token-0>` (craftcms/aws-s3#182).
public enum CredentialDiagnosis {
    /// The finding for `error`, or nil when it is not about the credentials.
    public static func finding(_ error: S3ServiceError, ourStringToSign: String, context: DiagnosisContext) -> Finding? {
        let terms = context.profile.terms
        let keyLine = "`access_key_id` (the \(terms.accessKey)) in \(context.section)"
        let said = error.said(context)
        // The shared reading of the answer (Refusal.of) decides what it is about; this adds the why.
        switch Refusal.of(error) {
        case .invalidAccessKey:
            return invalidKey(error, said: said, keyLine: keyLine, context: context)
        case .signatureMismatch:
            return signatureMismatch(error, said: said, ourStringToSign: ourStringToSign, context: context)
        case .expiredToken where error.code == "InvalidToken":
            let why = context.hasSessionToken ? "the configured session token is malformed or belongs to other keys" : "the request carried a token the server does not accept"
            return Finding(
                .credentials, .fail, .expiredToken, "The server rejected the session token \(said): \(why).",
                fix: "set the session token issued together with these keys (`session_token_file` in \(context.section)), or remove `session_token` when using long-lived keys")
        case .expiredToken:
            return Finding(
                .credentials, .fail, .expiredToken, "The server says the session token has expired \(said): temporary credentials only work until then.",
                fix: "renew the token (`session_token_file` or AWS_SESSION_TOKEN) and the keys issued with it, or use long-lived keys without `session_token` in \(context.section)")
        case .accountDisabled:
            return Finding(
                .credentials, .fail, .invalidAccessKey, "The server refuses every request from this account \(said).",
                fix: "check the account's standing and the key's status in \(terms.keyConsole)")
        default:
            return nil
        }
    }

    static func invalidKey(_ error: S3ServiceError, said: String, keyLine: String, context: DiagnosisContext) -> Finding {
        let terms = context.profile.terms
        let id = context.accessKeyID
        var explanation = "The server does not know the access key id \(Redaction.accessKeyID(id)) \(said)"
        var fix = "set \(keyLine) to the key id shown in \(terms.keyConsole), and make sure the key is active"
        if let ws = DiagnosisContext.whitespace(in: id) {
            explanation += "; the configured key id contains \(ws)"
            fix = "remove the whitespace from \(keyLine)"
        } else if id.count == 64 && id.allSatisfy(\.isHexDigit) {
            explanation += "; the configured key id is 64 hex characters, the length of a secret: the \(terms.secretKey) was probably pasted as the \(terms.accessKey)"
            fix = "put the \(terms.accessKey) (\(context.secretLength == 32 ? "the 32-character value now configured as the secret" : "the shorter value") into `access_key_id` and the 64-character secret into `secret_access_key_file` in \(context.section)"
        } else if error.message.contains("Malformed") {
            explanation += ": the key id does not have the shape this provider issues (a master or account key, or a truncated id)"
            fix = "create an application key (not the master key) in \(terms.keyConsole) and set \(keyLine) to its id"
        } else if unknownKeyMayMeanWrongRegion(context) {
            explanation += ". Two causes give this answer: the key id is wrong, or the key is valid but belongs to an account in another region than \"\(context.region)\" (keys work only at their own region's endpoint)"
            fix += "; if the key is right, set `region` in \(context.section) to the region of the bucket's endpoint (\(context.profile.endpointTemplate), shown in \(terms.bucketConsole))"
        }
        return Finding(.credentials, .fail, .invalidAccessKey, explanation + ".", fix: fix)
    }

    /// Whether the provider answers a valid key sent to another region's endpoint as an unknown
    /// key. The profile states it in its `region_hint` (B2: "a valid key sent elsewhere is
    /// answered InvalidAccessKeyId"); providers with region-wide keys (AWS) do not.
    static func unknownKeyMayMeanWrongRegion(_ context: DiagnosisContext) -> Bool {
        context.profile.regionHint.contains("InvalidAccessKeyId")
    }

    static func signatureMismatch(_ error: S3ServiceError, said: String, ourStringToSign: String, context: DiagnosisContext) -> Finding {
        let secretLine = "the \(context.profile.terms.secretKey) (\(context.credentialSource == "config" ? "`secret_access_key`" : context.credentialSource)) for \(context.section)"
        if let ws = context.secretWhitespace {
            return Finding(
                .credentials, .fail, .signatureMismatch,
                "The server computed a different signature \(said), and the configured secret contains \(ws): the whitespace is signed as part of the key.",
                fix: "remove the whitespace from \(secretLine)")
        }
        if let theirs = error.details["StringToSign"], !theirs.isEmpty {
            let ours = lines(ourStringToSign)
            let server = lines(theirs)
            if ours == server {
                return Finding(
                    .credentials, .fail, .signatureMismatch,
                    "The server signed exactly the same request as the agent but got a different signature \(said): the secret does not belong to access key id \(Redaction.accessKeyID(context.accessKeyID)).",
                    fix: "set \(secretLine) to the secret issued with this key id (create a new key pair in \(context.profile.terms.keyConsole) if it is lost)")
            }
            let which = differingPart(ours, server)
            return Finding(
                .credentials, .fail, .signatureMismatch,
                "The server's string to sign differs from the agent's in \(which) \(said): the request was altered between the agent and the server (a proxy or load balancer rewrote it), so the secret is not necessarily wrong.",
                fix: "send the agent's traffic to the storage without a rewriting proxy (check HTTPS_PROXY/NO_PROXY and any load balancer in front of `endpoint` in \(context.section)); if there is none, check the secret")
        }
        return Finding(
            .credentials, .fail, .signatureMismatch,
            "The server computed a different signature for the request \(said): almost always the secret does not belong to access key id \(Redaction.accessKeyID(context.accessKeyID)); more rarely a proxy altered the request.",
            fix: "set \(secretLine) to the secret issued with this key id (create a new key pair in \(context.profile.terms.keyConsole) if it is lost)")
    }

    static func lines(_ text: String) -> [String] {
        // Servers may send the string to sign with its newlines as spaces; compare the fields.
        text.split(whereSeparator: { $0 == "\n" || $0 == " " || $0 == "\r" || $0 == "\t" }).map(String.init)
    }

    static func differingPart(_ ours: [String], _ theirs: [String]) -> String {
        let names = ["the algorithm", "the request date", "the credential scope (date/region/service)", "the hash of the canonical request (method, path, query, headers or payload hash)"]
        for i in 0..<max(ours.count, theirs.count) {
            let a = i < ours.count ? ours[i] : ""
            let b = i < theirs.count ? theirs[i] : ""
            if a != b { return i < names.count ? names[i] : "its line \(i + 1)" }
        }
        return "its layout"
    }

}

/// An access key id as shown in output: its last 4 characters.
extension S3ServiceError {
    /// "(HTTP 403 AccessDenied: Access Denied)": what the server said, with the access key id
    /// (which some servers quote, e.g. B2's "The key '...' is not valid") shown redacted.
    func said(_ context: DiagnosisContext) -> String {
        var text = "(\(operation): HTTP \(status)"
        if !code.isEmpty { text += " \(code)" }
        var m = message
        if context.accessKeyID.count > 4 { m = m.replacingAll(context.accessKeyID, with: Redaction.accessKeyID(context.accessKeyID)) }
        if !m.isEmpty { text += ": \(m)" }
        return text + ")"
    }
}
