import AgentSupport
import HTTPTransport

/// Explains a failure below HTTP (`dns`, `connect`, `tls`) with curl's own detail.
public enum TransportDiagnosis {
    /// What kind of certificate problem a TLS failure is.
    public enum CertificateProblem: String, Sendable {
        case expired, notYetValid, selfSigned, unknownAuthority, wrongHost, handshake
    }

    // OpenSSL X509_V_ERR_* values as CURLINFO_SSL_VERIFYRESULT reports them
    // (https://docs.openssl.org/master/man3/X509_STORE_CTX_get_error/).
    static let certNotYetValid = 9
    static let certHasExpired = 10
    static let depthZeroSelfSigned = 18
    static let selfSignedInChain = 19
    static let unableToGetIssuerLocally = 20
    static let unableToVerifyLeaf = 21
    static let unableToGetIssuer = 2
    static let hostnameMismatch = 62

    /// Classifies a TLS failure from OpenSSL's verify result and curl's message (curl checks
    /// the host name itself and says "no alternative certificate subject name matches").
    public static func certificateProblem(message: String, verifyResult: Int) -> CertificateProblem {
        let m = message.lowercased()
        switch verifyResult {
        case certHasExpired: return .expired
        case certNotYetValid: return .notYetValid
        case depthZeroSelfSigned, selfSignedInChain: return .selfSigned
        case unableToGetIssuerLocally, unableToVerifyLeaf, unableToGetIssuer: return .unknownAuthority
        case hostnameMismatch: return .wrongHost
        default: break
        }
        if m.contains("expired") { return .expired }
        if m.contains("not yet valid") { return .notYetValid }
        if m.contains("self-signed") || m.contains("self signed") { return .selfSigned }
        if m.contains("local issuer") || m.contains("unknown ca") || m.contains("unable to get issuer") || m.contains("verify the first certificate") {
            return .unknownAuthority
        }
        if m.contains("subject name") || m.contains("does not match target host") || m.contains("hostname mismatch") { return .wrongHost }
        return .handshake
    }

    /// The finding for a failed connection attempt to `host:port`.
    public static func finding(_ error: TransportError, host: String, port: Int, verifyResult: Int, context: DiagnosisContext) -> Finding {
        let target = "\(host):\(port)"
        switch error.kind {
        case .dns:
            var fix = "check the host name in `endpoint` (or the values that build it, such as `region`) in \(context.section); test with `getent hosts \(host)`"
            if !context.pathStyle, host.hasPrefix(context.bucket + ".") {
                fix += "; requests go to the bucket's own host name (virtual-hosted style): if the provider does not serve it, set `path_style = true`"
            }
            return Finding(.dns, .fail, .dnsFailure, "The host name \(host) does not resolve (\(error.message)): DNS has no address for it.", fix: fix)
        case .connectionRefused:
            return Finding(
                .connect, .fail, .connectionRefused,
                "The connection to \(target) was refused (\(error.message)): the host is up but nothing accepts connections on that port.",
                fix: "check the port in `endpoint` in \(context.section) and that the S3 service runs there; a firewall may be rejecting it (`nc -vz \(host) \(port)`)")
        case .connectTimeout, .timeout, .stalled:
            return Finding(
                .connect, .fail, .connectionTimeout,
                "No connection to \(target) within the connect timeout (\(error.message)): a firewall drops the traffic, the host is down, or a proxy is needed.",
                fix: "allow outbound connections to \(target) (`nc -vz \(host) \(port)`), set HTTPS_PROXY if this server reaches the internet through a proxy, or raise `connect_timeout` in \(context.section)")
        case .tls:
            return tlsFinding(error, host: host, verifyResult: verifyResult, context: context)
        default:
            return Finding(
                .connect, .fail, .connectionRefused,
                "The connection to \(target) failed (\(error.message)).",
                fix: "check `endpoint` in \(context.section) and that an S3 service answers at \(target)")
        }
    }

    static func tlsFinding(_ error: TransportError, host: String, verifyResult: Int, context: DiagnosisContext) -> Finding {
        let problem = certificateProblem(message: error.message, verifyResult: verifyResult)
        let said = "(\(error.message))"
        switch problem {
        case .expired:
            return Finding(
                .tls, .fail, .tlsError, "The certificate of \(host) has expired \(said), or this server's clock is far ahead.",
                fix: "have the certificate of \(host) renewed; check this server's clock with `date` and `timedatectl set-ntp true`")
        case .notYetValid:
            return Finding(
                .tls, .fail, .tlsError, "The certificate of \(host) is not valid yet \(said): this server's clock is probably behind.",
                fix: "correct the clock: `timedatectl set-ntp true`, then check `date`")
        case .selfSigned:
            return Finding(
                .tls, .fail, .tlsError, "The certificate of \(host) is self-signed \(said): no trusted authority vouches for it.",
                fix: "set `ca_file = \"/path/to/server-or-ca.pem\"` in \(context.section) to the certificate (or its CA) the server uses")
        case .unknownAuthority:
            return Finding(
                .tls, .fail, .tlsError, "The certificate of \(host) is signed by an unknown certificate authority \(said).",
                fix: "set `ca_file = \"/path/to/private-ca.pem\"` in \(context.section) to the CA bundle that signed it, or install that CA in the system store (`update-ca-certificates`)")
        case .wrongHost:
            if context.bucket.contains("."), !context.pathStyle {
                return Finding(
                    .tls, .fail, .tlsError,
                    "The certificate of \(host) does not cover that name \(said): the bucket name has dots, so the virtual-hosted host name \(host) falls outside the provider's wildcard certificate.",
                    fix: "set `path_style = true` in \(context.section) (or use a bucket name without dots)")
            }
            return Finding(
                .tls, .fail, .tlsError, "The certificate presented by \(host) is for another host name \(said).",
                fix: "set `endpoint` in \(context.section) to the host name the certificate is issued for")
        case .handshake:
            return Finding(
                .tls, .fail, .tlsError, "The TLS handshake with \(host) failed \(said): the port may not speak TLS (plain HTTP), or no protocol or cipher is shared.",
                fix: "if the service on that port serves plain HTTP, write `endpoint = \"http://...\"` in \(context.section); otherwise check the server's TLS setup (`openssl s_client -connect \(host):443`)")
        }
    }
}
