import CCurl
import CCurlShim

/// What opening a connection to a URL's host showed, stage by stage: name lookup, TCP connect,
/// TLS handshake and certificate check. Built from one libcurl transfer with
/// `CURLOPT_CONNECT_ONLY`, so no HTTP request is sent.
public struct ConnectionProbeResult: Sendable {
    /// nil when the connection (and, for https, the TLS handshake) succeeded.
    public var error: TransportError?
    /// Seconds from the start until the name was resolved, the TCP connection stood, and the
    /// TLS handshake finished (0 for a stage not reached or not applicable).
    public var nameLookupTime: Double
    public var connectTime: Double
    public var tlsTime: Double
    /// The address connected to, when one was.
    public var remoteAddress: String
    /// OpenSSL's certificate verification result (`X509_V_OK` = 0, e.g. 10 expired,
    /// 18/19 self-signed, 20/21 unknown issuer), as `CURLINFO_SSL_VERIFYRESULT` reports it.
    public var certificateVerifyResult: Int

    public init(error: TransportError?, nameLookupTime: Double, connectTime: Double, tlsTime: Double, remoteAddress: String, certificateVerifyResult: Int) {
        self.error = error
        self.nameLookupTime = nameLookupTime
        self.connectTime = connectTime
        self.tlsTime = tlsTime
        self.remoteAddress = remoteAddress
        self.certificateVerifyResult = certificateVerifyResult
    }
}

/// Opens (and closes) one connection to `url`'s host and port without sending a request:
/// the connection test's `dns`, `connect` and `tls` checks. Blocking; honours `connectTimeout`
/// and `caFile` from `options`, and the proxy environment as every transfer does.
public enum ConnectionProbe {
    public static func probe(url: String, options: TransferOptions) -> ConnectionProbeResult {
        HTTPClient.ensureGlobalInit()
        guard let h = curl_easy_init() else {
            return ConnectionProbeResult(
                error: TransportError(kind: .other, curlCode: -1, message: "curl_easy_init failed"), nameLookupTime: 0, connectTime: 0, tlsTime: 0,
                remoteAddress: "", certificateVerifyResult: 0)
        }
        defer { curl_easy_cleanup(h) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }

        var code = ccurl_setopt_ptr(h, CURLOPT_ERRORBUFFER, errorBuffer)
        if code == CURLE_OK { code = ccurl_setopt_str(h, CURLOPT_URL, url) }
        if code == CURLE_OK { code = ccurl_setopt_long(h, CURLOPT_NOSIGNAL, 1) }
        if code == CURLE_OK { code = ccurl_setopt_long(h, CURLOPT_CONNECT_ONLY, 1) }
        if code == CURLE_OK { code = ccurl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout * 1000)) }
        if code == CURLE_OK, let ca = options.caFile { code = ccurl_setopt_str(h, CURLOPT_CAINFO, ca) }
        if code == CURLE_OK { code = curl_easy_perform(h) }

        var lookup = 0.0
        var connect = 0.0
        var tls = 0.0
        var verify = 0
        var ip: UnsafePointer<CChar>?
        ccurl_getinfo_double(h, CURLINFO_NAMELOOKUP_TIME, &lookup)
        ccurl_getinfo_double(h, CURLINFO_CONNECT_TIME, &connect)
        ccurl_getinfo_double(h, CURLINFO_APPCONNECT_TIME, &tls)
        ccurl_getinfo_long(h, CURLINFO_SSL_VERIFYRESULT, &verify)
        ccurl_getinfo_str(h, CURLINFO_PRIMARY_IP, &ip)
        let error = code == CURLE_OK ? nil : TransportError.from(code: code, detail: String(cString: errorBuffer))
        return ConnectionProbeResult(
            error: error, nameLookupTime: lookup, connectTime: connect, tlsTime: tls, remoteAddress: ip.map { String(cString: $0) } ?? "",
            certificateVerifyResult: verify)
    }
}
