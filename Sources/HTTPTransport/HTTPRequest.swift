/// Where a request's body comes from.
public enum RequestBody: Sendable {
    case none
    case bytes([UInt8])
    /// `length` bytes of the open file `fd` from `offset`, read with `pread` straight into
    /// libcurl's buffer: nothing of the file is held in memory.
    case file(fd: Int32, offset: Int64, length: Int64)
    /// Bytes made on demand at any offset (an encrypted file region), so libcurl may rewind.
    case source(any BodySource)

    public var length: Int64 {
        switch self {
        case .none: return 0
        case .bytes(let b): return Int64(b.count)
        case .file(_, _, let length): return length
        case .source(let s): return s.length
        }
    }
}

extension RequestBody {
    /// Bodies streamed from a file: libcurl gets a larger upload buffer for them.
    var isLarge: Bool {
        switch self {
        case .file, .source: return true
        case .none, .bytes: return false
        }
    }
}

/// A request body produced on demand, read in order but from any offset (libcurl rewinds on a
/// redirect or retry within a connection). Used on the client's thread only.
public protocol BodySource: AnyObject, Sendable {
    var length: Int64 { get }
    /// Fills `buffer` with the body's bytes from `offset`; returns the count (> 0 while bytes
    /// remain), or throws an error whose description says what went wrong.
    func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Where a response's body goes.
public enum ResponseSink: Sendable {
    /// Kept in memory up to `limit` bytes (S3 XML answers); the rest is counted and dropped.
    case memory(limit: Int)
    /// Written with `pwrite` to `fd` from `offset` (downloads).
    case file(fd: Int32, offset: Int64)
    /// A successful (2xx) answer's body handed to `stream` as it arrives (an encrypted file
    /// decrypted while it downloads); any other answer's body is kept in memory (up to 64 KiB)
    /// so its error can be read.
    case stream(any ResponseStream)
}

/// Takes a response body piece by piece, on the client's thread.
public protocol ResponseStream: AnyObject, Sendable {
    /// The next `bytes` of the body, from `offset` in it. Each attempt of a request starts again at
    /// offset 0. Returns 0 to go on, or an `errno` to stop the transfer (a local write failed).
    func receive(_ bytes: UnsafeRawBufferPointer, at offset: Int64) -> Int32
}

/// Per-request transfer settings.
public struct TransferOptions: Sendable {
    /// Seconds to wait for a TCP (and TLS) connection.
    public var connectTimeout: Double = 10
    /// A transfer slower than `stallMinRate` bytes/s for `stallTimeout` seconds is cut.
    /// `stallTimeout == 0` turns stall detection off (CompleteMultipartUpload may think for minutes).
    public var stallTimeout: Double = 30
    public var stallMinRate: Int64 = 1024
    /// Hard cap on the whole request, 0 = none.
    public var totalTimeout: Double = 0
    /// PEM bundle of trusted CAs; nil = the system's.
    public var caFile: String?
    /// Bytes per second for this transfer; 0 = unlimited. The client divides its global limit.
    public var maxSendRate: Int64 = 0
    public var maxReceiveRate: Int64 = 0
    /// Connect directly even when HTTP(S)_PROXY is set (the EC2 metadata service is link-local:
    /// a proxy would fail, or see the role's secret).
    public var bypassProxy = false

    public init() {}
}

/// One HTTP request.
public struct HTTPRequest: Sendable {
    public var method: String
    /// Absolute URL, already percent-encoded.
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: RequestBody
    public var sink: ResponseSink
    public var options: TransferOptions

    public init(
        method: String, url: String, headers: [(name: String, value: String)] = [], body: RequestBody = .none,
        sink: ResponseSink = .memory(limit: 1 << 20), options: TransferOptions = TransferOptions()
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.sink = sink
        self.options = options
    }
}

/// A complete HTTP response.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    /// The body when the sink was `.memory`; empty for `.file`.
    public var body: [UInt8]
    /// Bytes received in the body (also those written to a file sink).
    public var bodyLength: Int64
    /// Seconds from start to end of the transfer.
    public var totalTime: Double

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8], bodyLength: Int64, totalTime: Double) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bodyLength = bodyLength
        self.totalTime = totalTime
    }

    /// The first header with this name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first(where: { $0.name.lowercased() == lower })?.value
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
