import CCurl
import CCurlShim

#if canImport(Glibc)
    import Glibc
#endif

/// One request in flight: the easy handle and everything libcurl's callbacks touch.
/// Confined to the owning `HTTPClient`'s thread; the slist, error buffer and body stay alive
/// for the handle's lifetime.
final class CurlTransfer {
    let id: Int
    let handle: UnsafeMutableRawPointer
    let request: HTTPRequest
    let completion: (Result<HTTPResponse, TransportError>) -> Void
    private var headerList: UnsafeMutablePointer<curl_slist>?
    let errorBuffer: UnsafeMutablePointer<CChar>

    // Request body position: how much of the body libcurl has taken (progress counts it).
    private(set) var bodyPosition: Int64 = 0
    /// Set when a read from the source file failed; reported instead of curl's generic message.
    var readFailure: String?

    // Response.
    private var responseHeaders = ResponseHeaderParser()
    private(set) var responseBody: [UInt8] = []
    private(set) var responseLength: Int64 = 0
    var writeFailure: String?
    /// The `errno` behind `writeFailure`.
    var writeErrno: Int32 = 0

    init(id: Int, handle: UnsafeMutableRawPointer, request: HTTPRequest, completion: @escaping (Result<HTTPResponse, TransportError>) -> Void) {
        self.id = id
        self.handle = handle
        self.request = request
        self.completion = completion
        self.errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        if let list = headerList { curl_slist_free_all(list) }
        errorBuffer.deallocate()
    }

    var errorDetail: String { String(cString: errorBuffer) }

    /// New speed limits (0 = none) and stall floor for a transfer already running (a bandwidth
    /// timetable boundary). Best effort: an option libcurl refuses keeps its old value.
    func changeRates(send: Int64, receive: Int64, stallMinRate: Int64) {
        _ = ccurl_setopt_off_t(handle, CURLOPT_MAX_SEND_SPEED_LARGE, curl_off_t(send))
        _ = ccurl_setopt_off_t(handle, CURLOPT_MAX_RECV_SPEED_LARGE, curl_off_t(receive))
        if request.options.stallTimeout > 0 {
            _ = ccurl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, Int(max(1, stallMinRate)))
        }
    }

    /// Applies every option of the request to the easy handle. `uploadBufferSize` (bytes, 0 =
    /// libcurl's default) is how much of a file body each read callback fills.
    func configure(sendRate: Int64, receiveRate: Int64, uploadBufferSize: Int) throws(TransportError) {
        let h = handle
        let me = Unmanaged.passUnretained(self).toOpaque()
        try check(ccurl_setopt_ptr(h, CURLOPT_ERRORBUFFER, errorBuffer))
        try check(ccurl_setopt_str(h, CURLOPT_URL, request.url))
        try check(ccurl_setopt_long(h, CURLOPT_NOSIGNAL, 1))
        try check(ccurl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0))
        try check(ccurl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(request.options.connectTimeout * 1000)))
        if request.options.stallTimeout > 0 {
            try check(ccurl_setopt_long(h, CURLOPT_LOW_SPEED_LIMIT, Int(max(1, request.options.stallMinRate))))
            try check(ccurl_setopt_long(h, CURLOPT_LOW_SPEED_TIME, Int(max(1, request.options.stallTimeout.rounded(.up)))))
        }
        if request.options.totalTimeout > 0 {
            try check(ccurl_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(request.options.totalTimeout * 1000)))
        }
        if request.options.bypassProxy {
            try check(ccurl_setopt_str(h, CURLOPT_NOPROXY, "*"))
        }
        if let ca = request.options.caFile {
            try check(ccurl_setopt_str(h, CURLOPT_CAINFO, ca))
        }
        // TCP keepalive so a silently dead peer is noticed during long Completes.
        try check(ccurl_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1))
        if sendRate > 0 { try check(ccurl_setopt_off_t(h, CURLOPT_MAX_SEND_SPEED_LARGE, curl_off_t(sendRate))) }
        if receiveRate > 0 { try check(ccurl_setopt_off_t(h, CURLOPT_MAX_RECV_SPEED_LARGE, curl_off_t(receiveRate))) }

        // Method and body.
        let method = request.method.uppercased()
        switch method {
        case "HEAD":
            try check(ccurl_setopt_long(h, CURLOPT_NOBODY, 1))
        case "GET" where request.body.length == 0:
            try check(ccurl_setopt_long(h, CURLOPT_HTTPGET, 1))
        case "DELETE" where request.body.length == 0:
            try check(ccurl_setopt_str(h, CURLOPT_CUSTOMREQUEST, "DELETE"))
        default:
            // PUT and POST (also with an empty body) go through the read callback with a known length.
            try check(ccurl_setopt_long(h, CURLOPT_UPLOAD, 1))
            try check(ccurl_setopt_off_t(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.body.length)))
            if method != "PUT" { try check(ccurl_setopt_str(h, CURLOPT_CUSTOMREQUEST, method)) }
            try check(ccurl_setopt_read_cb(h, curlReadCallback))
            try check(ccurl_setopt_ptr(h, CURLOPT_READDATA, me))
            try check(ccurl_setopt_seek_cb(h, curlSeekCallback))
            try check(ccurl_setopt_ptr(h, CURLOPT_SEEKDATA, me))
            if request.body.isLarge, uploadBufferSize > 0 {
                // Fewer, larger preads and sends per part (libcurl's default is 64 KiB). An older
                // libcurl without the option keeps its default: not an error.
                _ = ccurl_setopt_upload_buffer_size(h, uploadBufferSize)
            }
        }

        // Headers: ours, minus curl's `Expect: 100-continue` (a second round trip per part).
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for (name, value) in request.headers {
            let line = value.isEmpty ? "\(name);" : "\(name): \(value)"
            list = curl_slist_append(list, line)
        }
        list = curl_slist_append(list, "Expect:")
        headerList = list
        try check(ccurl_setopt_slist(h, CURLOPT_HTTPHEADER, list))

        try check(ccurl_setopt_header_cb(h, curlHeaderCallback))
        try check(ccurl_setopt_ptr(h, CURLOPT_HEADERDATA, me))
        try check(ccurl_setopt_write_cb(h, curlWriteCallback))
        try check(ccurl_setopt_ptr(h, CURLOPT_WRITEDATA, me))
    }

    private func check(_ code: CURLcode) throws(TransportError) {
        if code != CURLE_OK { throw TransportError.from(code: code, detail: errorDetail) }
    }

    // MARK: callbacks

    func read(into buffer: UnsafeMutablePointer<CChar>, max: Int) -> Int {
        let remaining = request.body.length - bodyPosition
        if remaining <= 0 { return 0 }
        let want = Int(min(Int64(max), remaining))
        switch request.body {
        case .none:
            return 0
        case .bytes(let bytes):
            let start = Int(bodyPosition)
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawPointer(buffer).copyMemory(from: raw.baseAddress! + start, byteCount: want)
            }
            bodyPosition += Int64(want)
            return want
        case .file(let fd, let offset, _):
            var done = 0
            while done < want {
                let n = pread(fd, buffer + done, want - done, off_t(offset + bodyPosition + Int64(done)))
                if n < 0 {
                    if errno == EINTR { continue }
                    readFailure = "reading the file failed: \(String(cString: strerror(errno)))"
                    return Int(ccurl_readfunc_abort)
                }
                if n == 0 {
                    readFailure = "the file is shorter than expected (it changed while being sent)"
                    return Int(ccurl_readfunc_abort)
                }
                done += n
            }
            bodyPosition += Int64(done)
            return done
        case .source(let source):
            do {
                let n = try source.read(at: bodyPosition, into: UnsafeMutableRawBufferPointer(start: buffer, count: want))
                guard n > 0 else {
                    readFailure = "the body ended early (its source changed while being sent)"
                    return Int(ccurl_readfunc_abort)
                }
                bodyPosition += Int64(n)
                return n
            } catch {
                readFailure = "\(error)"
                return Int(ccurl_readfunc_abort)
            }
        }
    }

    func seek(to offset: Int64, origin: Int32) -> Int32 {
        guard origin == SEEK_SET, offset >= 0, offset <= request.body.length else { return 1 }  // CURL_SEEKFUNC_FAIL
        bodyPosition = offset
        return 0
    }

    func header(_ buffer: UnsafeMutablePointer<CChar>, count: Int) -> Int {
        responseHeaders.consume(UnsafeRawBufferPointer(start: buffer, count: count))
        return count
    }

    func write(_ buffer: UnsafeMutablePointer<CChar>, count: Int) -> Int {
        switch request.sink {
        case .memory(let limit):
            let room = max(0, limit - responseBody.count)
            if room > 0 {
                let take = min(room, count)
                responseBody.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: take))
            }
        case .stream(let stream):
            var status = 0
            ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            if (200..<300).contains(status) {
                let code = stream.receive(UnsafeRawBufferPointer(start: buffer, count: count), at: responseLength)
                if code != 0 {
                    writeErrno = code
                    writeFailure = "writing the download failed: \(String(cString: strerror(code)))"
                    return 0  // makes curl fail with CURLE_WRITE_ERROR
                }
            } else {
                let room = max(0, (64 << 10) - responseBody.count)
                if room > 0 { responseBody.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: min(room, count))) }
            }
        case .file(let fd, let offset):
            var done = 0
            while done < count {
                let n = pwrite(fd, buffer + done, count - done, off_t(offset + responseLength + Int64(done)))
                if n < 0 {
                    if errno == EINTR { continue }
                    writeErrno = errno
                    writeFailure = "writing the file failed: \(String(cString: strerror(errno)))"
                    return 0  // makes curl fail with CURLE_WRITE_ERROR
                }
                done += n
            }
        }
        responseLength += Int64(count)
        return count
    }

    func makeResponse() -> HTTPResponse {
        var status = 0
        ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var total = 0.0
        ccurl_getinfo_double(handle, CURLINFO_TOTAL_TIME, &total)
        return HTTPResponse(status: status, headers: responseHeaders.headers, body: responseBody, bodyLength: responseLength, totalTime: total)
    }
}

private func transfer(from userdata: UnsafeMutableRawPointer?) -> CurlTransfer {
    Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
}

private let curlReadCallback: ccurl_io_cb = { buffer, size, nitems, userdata in
    guard let buffer else { return 0 }
    return transfer(from: userdata).read(into: buffer, max: size * nitems)
}

private let curlWriteCallback: ccurl_io_cb = { buffer, size, nitems, userdata in
    guard let buffer else { return 0 }
    return transfer(from: userdata).write(buffer, count: size * nitems)
}

private let curlHeaderCallback: ccurl_io_cb = { buffer, size, nitems, userdata in
    guard let buffer else { return 0 }
    return transfer(from: userdata).header(buffer, count: size * nitems)
}

private let curlSeekCallback: ccurl_seek_cb = { userdata, offset, origin in
    transfer(from: userdata).seek(to: Int64(offset), origin: origin)
}
