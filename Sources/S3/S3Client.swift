import AgentSupport
import HTTPTransport
import SigV4

/// Talks the S3 API to one bucket: builds and signs requests, sends them through the shared
/// `HTTPClient` with the retry policy, and decodes answers. Knows nothing of backups.
/// Confined to the thread of its `HTTPClient`.
public final class S3Client {
    public let http: HTTPClient
    public let location: S3Location
    public var signer: SigV4Signer
    public var options: TransferOptions
    public var retry: RetryPolicy
    /// Seconds since the epoch for signing (injected in tests).
    public var clock: () -> Int64 = { Int64(wallClockSeconds()) }
    /// Asked before each request for the current credentials (an instance role's, renewed
    /// before they expire); nil keeps signing with the credentials given at init.
    public var currentCredentials: (() -> SigningCredentials?)?
    /// Called once per run, by the first client that corrects a clock skew: the offset (server −
    /// local, seconds), the endpoint, and what the server said. The CLI prints its one warning.
    nonisolated(unsafe) public static var onClockSkew: ((_ offset: Int64, _ endpoint: String, _ said: String) -> Void)?

    /// Called for every attempt that failed and will be retried (logging).
    public var onRetry: ((_ operation: Operation, _ failure: S3Failure, _ attempt: Int, _ delay: Double) -> Void)?

    /// The one retry warning: `retrying UploadPart 3 of <key> (attempt 2/5 failed: <cause>); next try in 1.2s`.
    public func retryMessage(_ op: Operation, _ failure: S3Failure, attempt: Int, delay: Double) -> String {
        "\(describe(op)): attempt \(attempt)/\(retry.maxAttempts) failed: \(failure.cause); retrying in \(Units.formatFixed(delay, digits: 1))s"
    }

    public init(http: HTTPClient, location: S3Location, credentials: SigningCredentials, options: TransferOptions = TransferOptions(), retry: RetryPolicy = RetryPolicy()) {
        self.http = http
        self.location = location
        self.signer = SigV4Signer(credentials: credentials, region: location.region)
        self.options = options
        self.retry = retry
    }

    /// A request to sign and send: everything but the date-dependent signature.
    public struct Operation: Sendable {
        public var name: String
        public var method: String
        public var key: String?
        public var query: [(name: String, value: String?)]
        public var headers: [(name: String, value: String)]
        public var body: RequestBody
        /// Hex SHA-256 of the body, or `PayloadHash.unsigned`.
        public var payloadHash: String
        public var sink: ResponseSink
        public var options: TransferOptions?

        public init(
            name: String, method: String, key: String? = nil, query: [(name: String, value: String?)] = [],
            headers: [(name: String, value: String)] = [], body: RequestBody = .none, payloadHash: String = PayloadHash.empty,
            sink: ResponseSink = .memory(limit: 4 << 20), options: TransferOptions? = nil
        ) {
            self.name = name
            self.method = method
            self.key = key
            self.query = query
            self.headers = headers
            self.body = body
            self.payloadHash = payloadHash
            self.sink = sink
            self.options = options
        }
    }

    /// An operation in an operator's words: `ListObjectsV2 <bucket>/<prefix>`,
    /// `UploadPart 3 of <key>`, `PutObject <bucket>/<key>`.
    public func describe(_ op: Operation) -> String {
        let bucket = location.bucket
        if let part = op.query.first(where: { $0.name == "partNumber" })?.value ?? nil, let key = op.key {
            return "\(op.name) \(part) of \(key)"
        }
        if let key = op.key { return "\(op.name) \(bucket)/\(key)" }
        if let prefix = op.query.first(where: { $0.name == "prefix" })?.value ?? nil { return "\(op.name) \(bucket)/\(prefix)" }
        return "\(op.name) \(bucket)"
    }

    /// The signed HTTP request for an operation, dated now. Also returns our string to sign,
    /// which diagnostics compare with a server's `<StringToSign>`.
    public func signedRequest(_ op: Operation) -> (request: HTTPRequest, stringToSign: String, canonicalRequest: String) {
        let rawPath = location.rawPath(key: op.key)
        var headers: [(name: String, value: String)] = [(name: "Host", value: location.hostHeader)]
        headers.append(contentsOf: op.headers)
        if op.body.length > 0 || op.method == "PUT" || op.method == "POST" {
            headers.append((name: "Content-Length", value: String(op.body.length)))
        }
        if let fresh = currentCredentials?(), fresh != signer.credentials {
            signer = SigV4Signer(credentials: fresh, region: location.region)
        }
        // Local time + the offset learned from a server that refused our time (0 until then).
        let date = clock() + ClockOffsets.offset(for: location.endpointDescription)
        let signed = signer.sign(method: op.method, path: rawPath, query: op.query, headers: headers, payloadHash: op.payloadHash, date: date)
        // curl sets Host and Content-Length from the URL and body itself; send the rest.
        var send = headers.filter { $0.name != "Host" && $0.name != "Content-Length" }
        send.append(contentsOf: signed.headers)
        let request = HTTPRequest(
            method: op.method, url: location.url(rawPath: rawPath, query: op.query), headers: send, body: op.body, sink: op.sink,
            options: op.options ?? options)
        return (request, signed.stringToSign, signed.canonicalRequest)
    }

    /// What one answer means: a 2xx is success, except a 2xx whose body is an `<Error>`
    /// (CompleteMultipartUpload, CopyObject); anything else an S3 error (the access key id masked
    /// where the server quotes it), or a transport failure.
    static func outcome(of transfer: Result<HTTPResponse, TransportError>, _ op: Operation, accessKeyID: String) -> Result<HTTPResponse, S3Failure> {
        switch transfer {
        case .failure(let t):
            return .failure(.transport(t))
        case .success(let response):
            let errorBody = op.method == "POST" && !response.body.isEmpty && XMLElement.parse(response.body)?.name == "Error"
            if (200..<300).contains(response.status) && !errorBody { return .success(response) }
            return .failure(.service(S3ServiceError.from(response: response, operation: op.name).redacting(accessKeyID: accessKeyID)))
        }
    }

    /// Sends an operation, retrying transient failures per the policy; `completion` gets the
    /// 2xx answer, or the last failure together with every attempt's error.
    public func send(_ op: Operation, completion: @escaping (Result<HTTPResponse, S3Failure>, _ attempts: [String]) -> Void) {
        attempt(op, number: 1, history: [], skewCorrected: false, waited: 0, completion: completion)
    }

    /// After a refusal for the request's time: the offset to sign with from now on (server −
    /// local), recorded for this endpoint, or nil when the answer gives no usable server time
    /// or the offset in use is already the server's.
    func correctClock(_ failure: S3Failure, signedWith used: Int64) -> Int64? {
        guard case .service(let s) = failure, Refusal.isRequestTime(s) else { return nil }
        let endpoint = location.endpointDescription
        // Another request (a part in flight) corrected the clock since this one was signed.
        let current = ClockOffsets.offset(for: endpoint)
        if current != used { return current }
        guard let server = Refusal.serverTime(s) else { return nil }
        let offset = server - clock()
        // Within a few seconds of the offset already used: correcting again would change nothing.
        guard abs(offset - ClockOffsets.offset(for: endpoint)) > 2 else { return nil }
        if ClockOffsets.record(offset, for: endpoint) {
            S3Client.onClockSkew?(offset, endpoint, "\(s.code.isEmpty ? "HTTP \(s.status)" : s.code)\(s.message.isEmpty ? "" : ": \(s.message)")")
        }
        return offset
    }

    private func attempt(
        _ op: Operation, number: Int, history: [String], skewCorrected: Bool, waited: Double,
        completion: @escaping (Result<HTTPResponse, S3Failure>, [String]) -> Void
    ) {
        let signedWith = ClockOffsets.offset(for: location.endpointDescription)
        let request = signedRequest(op).request
        http.start(request) { [self] transfer in
            let failure: S3Failure
            switch S3Client.outcome(of: transfer, op, accessKeyID: signer.credentials.accessKeyID) {
            case .success(let response):
                completion(.success(response), history)
                return
            case .failure(let f):
                failure = f
            }
            let history = history + ["attempt \(number): \(failure)"]
            // Refused for its time: signed again with the server's time, once (not an attempt).
            if !skewCorrected, correctClock(failure, signedWith: signedWith) != nil {
                attempt(op, number: number, history: history, skewCorrected: true, waited: waited, completion: completion)
                return
            }
            switch retry.decide(failure, attempt: number, waited: waited) {
            case .giveUp:
                completion(.failure(failure), history)
            case .retry(let delay):
                onRetry?(op, failure, number, delay)
                http.after(delay) { [self] in
                    if http.shouldCancel() {
                        completion(.failure(failure), history)
                        return
                    }
                    attempt(op, number: number + 1, history: history, skewCorrected: skewCorrected, waited: waited + delay, completion: completion)
                }
            }
        }
    }

    /// Sends an operation and waits (other transfers on the client keep moving).
    public func perform(_ op: Operation) -> (result: Result<HTTPResponse, S3Failure>, attempts: [String]) {
        var outcome: (Result<HTTPResponse, S3Failure>, [String])?
        send(op) { outcome = ($0, $1) }
        http.run(until: { outcome != nil })
        if let outcome { return outcome }
        return (.failure(.transport(TransportError(kind: .aborted, curlCode: 42, message: "interrupted"))), [])
    }

    /// One attempt, no retries: for diagnostics, which must never repeat a failed authentication.
    public func performOnce(_ op: Operation) -> (result: Result<HTTPResponse, S3Failure>, stringToSign: String) {
        let signed = signedRequest(op)
        return (S3Client.outcome(of: http.execute(signed.request), op, accessKeyID: signer.credentials.accessKeyID), signed.stringToSign)
    }
}
