import CCurl
// curl.h reaches Swift through both modules; a release (whole-module) build finds the CURLE_*
// constants only with both imported.
import CCurlShim

/// A failure below HTTP: the request got no complete answer. Built at one choke point from a
/// `CURLcode`, carrying curl's own words (`curl_easy_strerror` and `CURLOPT_ERRORBUFFER`).
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case dns, connectionRefused, connectTimeout, tls, stalled, timeout, connectionLost, fileRead, aborted, other
    }

    public var kind: Kind
    /// The raw `CURLcode`.
    public var curlCode: Int32
    /// curl's message for the code, plus the error buffer's detail when it has one.
    public var message: String
    /// The `errno` of a failed write of the answer into a file (`ENOSPC` for a full disk); 0 otherwise.
    public var writeErrno: Int32

    public init(kind: Kind, curlCode: Int32, message: String, writeErrno: Int32 = 0) {
        self.kind = kind
        self.curlCode = curlCode
        self.message = message
        self.writeErrno = writeErrno
    }

    public var description: String { "\(message) (curl \(curlCode))" }

    /// Whether trying the same request again may succeed (SPEC 5: transient failures). A name
    /// that does not resolve is tried again: a resolver or link blip passes, and SPEC 3 reports
    /// DNS_FAILURE after the retries (exit 75). A certificate, our own file, or an abort do not.
    public var isTransient: Bool {
        switch kind {
        case .tls, .fileRead, .aborted: return false
        default: return true
        }
    }

    static func from(code: CURLcode, detail: String) -> TransportError {
        let base = String(cString: curl_easy_strerror(code))
        let message = detail.isEmpty || detail == base ? base : "\(base): \(detail)"
        var kind: Kind
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: kind = .dns
        case CURLE_COULDNT_CONNECT:
            // curl reports refused and unreachable alike; the buffer says which.
            kind = detail.lowercased().contains("timed out") ? .connectTimeout : .connectionRefused
        case CURLE_OPERATION_TIMEDOUT:
            if detail.contains("Connection timed out") || detail.contains("Connection timeout") || detail.lowercased().contains("connect") {
                kind = .connectTimeout
            } else if detail.contains("slower than") || detail.contains("Operation too slow") {
                kind = .stalled
            } else {
                kind = .timeout
            }
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE, CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            kind = .tls
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM,
            CURLE_WEIRD_SERVER_REPLY:
            kind = .connectionLost
        case CURLE_READ_ERROR: kind = .fileRead
        case CURLE_ABORTED_BY_CALLBACK: kind = .aborted
        default: kind = .other
        }
        if code == CURLE_SSL_CONNECT_ERROR, !detail.lowercased().contains("certificate"), !detail.lowercased().contains("verify") {
            // A handshake cut short (reset, EOF) on a flaky link: worth another try.
            kind = .connectionLost
        }
        return TransportError(kind: kind, curlCode: Int32(code.rawValue), message: message)
    }
}
