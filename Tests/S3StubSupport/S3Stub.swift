import Foundation
import Hashing
import S3

#if canImport(Glibc)
    import Glibc
#endif

/// An in-process S3 server for unit tests (never linked into the agent): HTTP/1.1 on a loopback
/// port it picks, a thread per connection, keep-alive, `Content-Length` and chunked bodies,
/// `Expect: 100-continue`. It keeps buckets in memory and answers like S3 in the documented XML
/// formats (CreateMultipartUpload, UploadPart, ListParts, CompleteMultipartUpload,
/// AbortMultipartUpload, ListMultipartUploads, PutObject, HeadObject, GetObject with Range,
/// ListObjectsV2, DeleteObject, HeadBucket). It checks what S3 checks that a test relies on:
/// Content-MD5 against the body (BadDigest), the signed `x-amz-content-sha256` against the body,
/// the parts named at Complete against the parts held (InvalidPart, InvalidPartOrder).
///
/// Every request is recorded; `script` may answer one differently (an error, a lost answer, a
/// dropped connection) and may change the store first (`replacePart`, `putObject`...).
public final class S3Stub: @unchecked Sendable {
    public enum Operation: String, Sendable {
        case createMultipartUpload, uploadPart, listParts, completeMultipartUpload, abortMultipartUpload, listMultipartUploads
        case putObject, headObject, getObject, deleteObject, listObjectsV2, headBucket, other
    }

    /// One request as the stub received it.
    public struct Request: Sendable {
        public var method: String
        /// The request target as sent (path and query, still percent-encoded).
        public var target: String
        public var bucket: String
        public var key: String
        public var query: [String: String]
        /// Header names in lower case.
        public var headers: [String: String]
        public var body: [UInt8]
        public var operation: Operation
        /// 1 for the first request of this operation, 2 for the second...
        public var ordinal: Int
        public var bodyMD5: String { Digest.md5(body).hexString }
        public var partNumber: Int? { query["partNumber"].flatMap { Int($0) } }
        public var uploadID: String? { query["uploadId"] }
        public func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    /// How the stub answers one request.
    public enum Reply: Sendable {
        /// As S3 would.
        case normal
        /// An S3 error document.
        case error(status: Int, code: String, message: String)
        /// Does what S3 would, then closes the connection without answering (a lost answer).
        case lostAnswer
        /// Closes the connection without doing anything or answering.
        case drop
        /// Answers `status` with `body` truncated to `sendBytes` bytes, then closes the connection.
        case truncated(sendBytes: Int)
    }

    public enum ETagStyle: Sendable {
        /// The MD5 of the bytes (a part, a single PUT), the MD5 of the parts' MD5s `-count` (multipart).
        case md5
        /// Opaque, as with SSE-KMS: not the MD5 of anything the client could compute.
        case opaque
    }

    public struct StoredObject: Sendable {
        public var bytes: [UInt8]
        public var etag: String
        public var lastModified: String
    }

    public struct StoredPart: Sendable {
        public var bytes: [UInt8]
        public var etag: String
    }

    public struct Upload: Sendable {
        public var bucket: String
        public var key: String
        public var parts: [Int: StoredPart] = [:]
        public var initiated: String
    }

    // Behaviour switches (set before the requests they concern).
    /// How ETags are made (`.opaque`: SSE-KMS).
    public var etagStyle: ETagStyle {
        get { locked { _etagStyle } }
        set { locked { _etagStyle = newValue } }
    }
    /// Refuses a PutObject or UploadPart without Content-MD5 or an `x-amz-checksum-*` header the
    /// way AWS does on a bucket with Object Lock (a default retention).
    public var requireContentMD5: Bool {
        get { locked { _requireContentMD5 } }
        set { locked { _requireContentMD5 = newValue } }
    }
    /// `x-amz-server-side-encryption` this bucket answers on writes, HEAD and GET ("aws:kms").
    public var serverSideEncryption: String? {
        get { locked { _serverSideEncryption } }
        set { locked { _serverSideEncryption = newValue } }
    }
    /// A Complete for an upload completed before answers 200 with its result (AWS, for a while),
    /// instead of 404 NoSuchUpload.
    public var completeIsIdempotent: Bool {
        get { locked { _completeIsIdempotent } }
        set { locked { _completeIsIdempotent = newValue } }
    }
    /// Decides each request's answer (called in arrival order, under the stub's lock: it may
    /// call the stub's store functions); nil: `.normal`.
    public var script: (@Sendable (Request) -> Reply?)? {
        get { locked { _script } }
        set { locked { _script = newValue } }
    }

    public let port: Int
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    private let lock = NSRecursiveLock()
    private var _etagStyle = ETagStyle.md5
    private var _requireContentMD5 = false
    private var _serverSideEncryption: String?
    private var _completeIsIdempotent = false
    private var _script: (@Sendable (Request) -> Reply?)?
    private var _requests: [Request] = []
    private var objects: [String: [String: StoredObject]] = [:]
    private var uploads: [String: Upload] = [:]
    /// Completed uploads: their bucket, key and Complete answer (for `completeIsIdempotent`).
    private var completed: [String: (bucket: String, key: String, etag: String)] = [:]
    private var nextUpload = 1
    private var opaqueCounter = 0
    private let listener: Int32
    private var connections: Set<Int32> = []
    private var stopped = false

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StubError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw StubError("bind/listen: \(String(cString: strerror(errno)))")
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        listener = fd
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "s3-stub-accept"
        thread.start()
    }

    /// Closes the listening socket and every connection; the threads end on their own.
    public func stop() {
        let open: Set<Int32> = locked {
            stopped = true
            return connections
        }
        shutdown(listener, Int32(SHUT_RDWR))
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    deinit { close(listener) }

    // MARK: what the tests look at and change

    /// Every request received so far, in arrival order.
    public var requests: [Request] { locked { _requests } }

    public func requests(_ operation: Operation) -> [Request] { requests.filter { $0.operation == operation } }

    public func object(bucket: String, key: String) -> StoredObject? { locked { objects[bucket]?[key] } }

    public func keys(bucket: String) -> [String] { locked { (objects[bucket] ?? [:]).keys.sorted() } }

    /// Multipart uploads in progress.
    public func uploads(bucket: String) -> [String: Upload] { locked { uploads.filter { $0.value.bucket == bucket } } }

    /// Stores an object as if another writer had PUT it.
    public func putObject(bucket: String, key: String, bytes: [UInt8], etag: String? = nil) {
        locked { objects[bucket, default: [:]][key] = StoredObject(bytes: bytes, etag: etag ?? Digest.md5(bytes).hexString, lastModified: Self.httpDate()) }
    }

    /// Replaces a part the server holds (another client wrote it, or the server lost and
    /// re-stored it): new bytes, a new ETag.
    public func replacePart(uploadID: String, number: Int, bytes: [UInt8]) {
        locked { uploads[uploadID]?.parts[number] = StoredPart(bytes: bytes, etag: makeETag(bytes)) }
    }

    /// Forgets a part the server held.
    public func dropPart(uploadID: String, number: Int) {
        locked { _ = uploads[uploadID]?.parts.removeValue(forKey: number) }
    }

    /// Forgets a multipart upload (expired by a lifecycle rule, or aborted by someone else).
    public func forgetUpload(_ uploadID: String) {
        locked { _ = uploads.removeValue(forKey: uploadID) }
    }

    // MARK: connections

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return
            }
            let refused: Bool = locked {
                if stopped { return true }
                connections.insert(fd)
                return false
            }
            if refused {
                close(fd)
                return
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let thread = Thread { [self] in
                serve(fd)
                locked { _ = connections.remove(fd) }
                close(fd)
            }
            thread.name = "s3-stub-connection"
            thread.start()
        }
    }

    /// Reads requests from one connection until it closes (keep-alive).
    private func serve(_ fd: Int32) {
        var reader = Reader(fd: fd)
        while let head = reader.readHead() {
            let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
            let parts = lines[0].split(separator: " ").map(String.init)
            guard parts.count == 3 else { return }
            var headers: [String: String] = [:]
            for line in lines.dropFirst() where !line.isEmpty {
                guard let colon = line.firstIndex(of: ":") else { return }
                let name = line[..<colon].lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                headers[name] = headers[name].map { $0 + "," + value } ?? value
            }
            if headers["expect"]?.lowercased() == "100-continue" {
                guard writeAll(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return }
            }
            let body: [UInt8]
            if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
                guard let b = reader.readChunked() else { return }
                body = b
            } else if let length = Int(headers["content-length"] ?? "0"), length >= 0 {
                guard let b = reader.read(count: length) else { return }
                body = b
            } else {
                return
            }
            let request = parse(method: parts[0], target: parts[1], headers: headers, body: body)
            let (reply, answer) = handle(request)
            switch reply {
            case .drop, .lostAnswer:
                return
            case .truncated(let sendBytes):
                var bytes = answer.head(method: request.method)
                bytes += answer.body.prefix(sendBytes)
                _ = writeAll(fd, bytes)
                return
            case .normal, .error:
                var bytes = answer.head(method: request.method)
                if request.method != "HEAD" { bytes += answer.body }
                guard writeAll(fd, bytes) else { return }
            }
            if headers["connection"]?.lowercased() == "close" { return }
        }
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { p in send(fd, p.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }

    private func parse(method: String, target: String, headers: [String: String], body: [UInt8]) -> Request {
        let pathPart = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = Self.percentDecode(String(pathPart[0]))
        var query: [String: String] = [:]
        if pathPart.count > 1 {
            for item in pathPart[1].split(separator: "&") {
                let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query[Self.percentDecode(String(kv[0]))] = kv.count > 1 ? Self.percentDecode(String(kv[1])) : ""
            }
        }
        let trimmed = path.hasPrefix("/") ? String(path.dropFirst()) : path
        let slash = trimmed.firstIndex(of: "/")
        let bucket = slash.map { String(trimmed[..<$0]) } ?? trimmed
        let key = slash.map { String(trimmed[trimmed.index(after: $0)...]) } ?? ""
        let operation: Operation
        switch (method, key.isEmpty) {
        case ("POST", false) where query["uploads"] != nil: operation = .createMultipartUpload
        case ("POST", false) where query["uploadId"] != nil: operation = .completeMultipartUpload
        case ("PUT", false) where query["uploadId"] != nil: operation = .uploadPart
        case ("PUT", false): operation = .putObject
        case ("GET", false) where query["uploadId"] != nil: operation = .listParts
        case ("GET", false): operation = .getObject
        case ("HEAD", false): operation = .headObject
        case ("DELETE", false) where query["uploadId"] != nil: operation = .abortMultipartUpload
        case ("DELETE", false): operation = .deleteObject
        case ("GET", true) where query["uploads"] != nil: operation = .listMultipartUploads
        case ("GET", true) where query["list-type"] == "2": operation = .listObjectsV2
        case ("HEAD", true): operation = .headBucket
        default: operation = .other
        }
        return Request(method: method, target: target, bucket: bucket, key: key, query: query, headers: headers, body: body, operation: operation, ordinal: 0)
    }

    // MARK: S3's behaviour

    struct Answer {
        var status: Int
        var headers: [(String, String)] = []
        var body: [UInt8] = []
        /// HEAD: the Content-Length of the object, not of the (empty) body.
        var headLength: Int?

        func head(method: String) -> [UInt8] {
            var text = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
            for (name, value) in headers { text += "\(name): \(value)\r\n" }
            text += "Content-Length: \(method == "HEAD" ? (headLength ?? 0) : body.count)\r\n"
            text += "x-amz-request-id: STUB\(status)\r\nConnection: keep-alive\r\n\r\n"
            return Array(text.utf8)
        }

        static func reason(_ status: Int) -> String {
            switch status {
            case 200: return "OK"
            case 204: return "No Content"
            case 206: return "Partial Content"
            case 400: return "Bad Request"
            case 403: return "Forbidden"
            case 404: return "Not Found"
            case 416: return "Requested Range Not Satisfiable"
            case 500: return "Internal Server Error"
            case 503: return "Service Unavailable"
            default: return "Status"
            }
        }
    }

    private func handle(_ incoming: Request) -> (Reply, Answer) {
        locked {
            var request = incoming
            request.ordinal = _requests.reduce(1) { $0 + ($1.operation == incoming.operation ? 1 : 0) }
            _requests.append(request)
            let reply = _script?(request) ?? .normal
            switch reply {
            case .error(let status, let code, let message):
                return (reply, Self.error(status, code, message, resource: "/\(request.bucket)/\(request.key)"))
            case .drop:
                return (reply, Answer(status: 0))
            case .normal, .lostAnswer, .truncated:
                return (reply, respond(request))
            }
        }
    }

    private func respond(_ r: Request) -> Answer {
        if let refusal = checkBody(r) { return refusal }
        switch r.operation {
        case .headBucket:
            return Answer(status: 200)
        case .putObject:
            let etag = makeETag(r.body)
            objects[r.bucket, default: [:]][r.key] = StoredObject(bytes: r.body, etag: etag, lastModified: Self.httpDate())
            return Answer(status: 200, headers: [("ETag", "\"\(etag)\"")] + sseHeaders)
        case .headObject, .getObject:
            guard let object = objects[r.bucket]?[r.key] else {
                return r.operation == .headObject ? Answer(status: 404) : Self.error(404, "NoSuchKey", "The specified key does not exist.", resource: "/\(r.bucket)/\(r.key)")
            }
            var headers: [(String, String)] = [("ETag", "\"\(object.etag)\""), ("Last-Modified", object.lastModified), ("Accept-Ranges", "bytes")] + sseHeaders
            headers.append(("Content-Type", "application/octet-stream"))
            if r.operation == .headObject { return Answer(status: 200, headers: headers, headLength: object.bytes.count) }
            guard let range = r.header("range") else { return Answer(status: 200, headers: headers, body: object.bytes) }
            guard let (first, last) = Self.parseRange(range, size: object.bytes.count) else {
                return Self.error(416, "InvalidRange", "The requested range is not satisfiable", resource: "/\(r.bucket)/\(r.key)")
            }
            headers.append(("Content-Range", "bytes \(first)-\(last)/\(object.bytes.count)"))
            return Answer(status: 206, headers: headers, body: Array(object.bytes[first...last]))
        case .deleteObject:
            objects[r.bucket]?[r.key] = nil
            return Answer(status: 204)
        case .createMultipartUpload:
            let id = "stub-\(port)-upload-\(nextUpload)"
            nextUpload += 1
            uploads[id] = Upload(bucket: r.bucket, key: r.key, initiated: Self.isoDate())
            return Self.xml(
                "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>\(Self.escape(r.bucket))</Bucket><Key>\(Self.escape(r.key))</Key><UploadId>\(id)</UploadId></InitiateMultipartUploadResult>",
                headers: sseHeaders)
        case .uploadPart:
            guard let id = r.uploadID, uploads[id]?.key == r.key, uploads[id]?.bucket == r.bucket else { return noSuchUpload(r) }
            guard let n = r.partNumber, n >= 1, n <= 10000 else {
                return Self.error(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive", resource: "/\(r.bucket)/\(r.key)")
            }
            let etag = makeETag(r.body)
            uploads[id]?.parts[n] = StoredPart(bytes: r.body, etag: etag)
            return Answer(status: 200, headers: [("ETag", "\"\(etag)\"")] + sseHeaders)
        case .listParts:
            guard let id = r.uploadID, let upload = uploads[id], upload.key == r.key else { return noSuchUpload(r) }
            var body = "<ListPartsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>\(Self.escape(r.bucket))</Bucket><Key>\(Self.escape(r.key))</Key><UploadId>\(id)</UploadId>"
            let marker = Int(r.query["part-number-marker"] ?? "0") ?? 0
            let numbers = upload.parts.keys.sorted().filter { $0 > marker }
            body += "<PartNumberMarker>\(marker)</PartNumberMarker><NextPartNumberMarker>\(numbers.last ?? 0)</NextPartNumberMarker><MaxParts>1000</MaxParts><IsTruncated>false</IsTruncated>"
            for n in numbers {
                let p = upload.parts[n]!
                body += "<Part><PartNumber>\(n)</PartNumber><LastModified>\(Self.isoDate())</LastModified><ETag>&quot;\(p.etag)&quot;</ETag><Size>\(p.bytes.count)</Size></Part>"
            }
            body += "<StorageClass>STANDARD</StorageClass></ListPartsResult>"
            return Self.xml(body)
        case .completeMultipartUpload:
            return complete(r)
        case .abortMultipartUpload:
            guard let id = r.uploadID, uploads[id] != nil else { return noSuchUpload(r) }
            uploads[id] = nil
            return Answer(status: 204)
        case .listMultipartUploads:
            let prefix = r.query["prefix"] ?? ""
            var body = "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>\(Self.escape(r.bucket))</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>"
            for (id, u) in uploads.sorted(by: { $0.key < $1.key }) where u.bucket == r.bucket && u.key.hasPrefix(prefix) {
                body += "<Upload><Key>\(Self.escape(u.key))</Key><UploadId>\(id)</UploadId><StorageClass>STANDARD</StorageClass><Initiated>\(u.initiated)</Initiated></Upload>"
            }
            return Self.xml(body + "</ListMultipartUploadsResult>")
        case .listObjectsV2:
            return listObjects(r)
        case .other:
            return Self.error(501, "NotImplemented", "the S3 stub does not implement \(r.method) \(r.target)", resource: "/\(r.bucket)")
        }
    }

    /// What S3 checks of a body before it stores it.
    private func checkBody(_ r: Request) -> Answer? {
        let resource = "/\(r.bucket)/\(r.key)"
        if let sha = r.header("x-amz-content-sha256"), sha.count == 64, sha.lowercased() != Digest.sha256(r.body).hexString {
            return Self.error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.", resource: resource)
        }
        if let md5 = r.header("content-md5") {
            guard let given = Data(base64Encoded: md5), given.count == 16 else {
                return Self.error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.", resource: resource)
            }
            if Array(given) != Digest.md5(r.body) {
                return Self.error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.", resource: resource)
            }
        }
        let writes = r.operation == .putObject || r.operation == .uploadPart
        if writes, _requireContentMD5, r.header("content-md5") == nil, !r.headers.keys.contains(where: { $0.hasPrefix("x-amz-checksum-") }) {
            // AWS's answer on a bucket with Object Lock (a default retention).
            let what = r.operation == .putObject ? "Put Object" : "Upload Part"
            return Self.error(400, "InvalidRequest", "Content-MD5 OR x-amz-checksum- HTTP header is required for \(what) requests with Object Lock parameters", resource: resource)
        }
        return nil
    }

    private func complete(_ r: Request) -> Answer {
        let resource = "/\(r.bucket)/\(r.key)"
        guard let id = r.uploadID, let upload = uploads[id], upload.key == r.key, upload.bucket == r.bucket else {
            if let id = r.uploadID, _completeIsIdempotent, let done = completed[id], done.key == r.key {
                return completeAnswer(r, etag: done.etag)
            }
            return noSuchUpload(r)
        }
        guard let root = XMLElement.parse(r.body), root.name == "CompleteMultipartUpload" else {
            return Self.error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.", resource: resource)
        }
        var assembled: [UInt8] = []
        var md5s: [UInt8] = []
        var last = 0
        let named = root.children("Part")
        guard !named.isEmpty else {
            return Self.error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.", resource: resource)
        }
        for p in named {
            guard let n = Int(p.value("PartNumber") ?? "") else {
                return Self.error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.", resource: resource)
            }
            guard n > last else {
                return Self.error(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.", resource: resource)
            }
            last = n
            var etag = p.value("ETag") ?? ""
            etag = etag.replacingOccurrences(of: "\"", with: "").replacingOccurrences(of: "&quot;", with: "")
            guard let held = upload.parts[n], held.etag == etag else {
                return Self.error(
                    400, "InvalidPart",
                    "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
                    resource: resource)
            }
            assembled += held.bytes
            md5s += Digest.md5(held.bytes)
        }
        let etag: String
        switch _etagStyle {
        case .md5: etag = Digest.md5(md5s).hexString + "-\(named.count)"
        case .opaque: etag = opaque() + "-\(named.count)"
        }
        objects[r.bucket, default: [:]][r.key] = StoredObject(bytes: assembled, etag: etag, lastModified: Self.httpDate())
        uploads[id] = nil
        completed[id] = (r.bucket, r.key, etag)
        return completeAnswer(r, etag: etag)
    }

    private func completeAnswer(_ r: Request, etag: String) -> Answer {
        Self.xml(
            "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Location>http://127.0.0.1:\(port)/\(Self.escape(r.bucket))/\(Self.escape(r.key))</Location><Bucket>\(Self.escape(r.bucket))</Bucket><Key>\(Self.escape(r.key))</Key><ETag>&quot;\(etag)&quot;</ETag></CompleteMultipartUploadResult>",
            headers: sseHeaders)
    }

    private func listObjects(_ r: Request) -> Answer {
        let prefix = r.query["prefix"] ?? ""
        let delimiter = r.query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let maxKeys = max(1, min(1000, Int(r.query["max-keys"] ?? "1000") ?? 1000))
        let after = r.query["continuation-token"] ?? r.query["start-after"] ?? ""
        var contents: [(String, StoredObject)] = []
        var prefixes: [String] = []
        var truncated = false
        var lastKey = ""
        for (key, object) in (objects[r.bucket] ?? [:]).sorted(by: { $0.key < $1.key }) where key.hasPrefix(prefix) && key > after {
            var common: String?
            if let delimiter, let range = key.dropFirst(prefix.count).range(of: delimiter) {
                common = String(key[..<range.upperBound])
            }
            if let common, prefixes.last == common { continue }
            if contents.count + prefixes.count == maxKeys {
                truncated = true
                break
            }
            if let common {
                prefixes.append(common)
                // Skip every key under this common prefix.
                lastKey = common + "\u{10FFFF}"
            } else {
                contents.append((key, object))
                lastKey = key
            }
        }
        var body = "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>\(Self.escape(r.bucket))</Name><Prefix>\(Self.escape(prefix))</Prefix><KeyCount>\(contents.count + prefixes.count)</KeyCount><MaxKeys>\(maxKeys)</MaxKeys>"
        if let delimiter { body += "<Delimiter>\(Self.escape(delimiter))</Delimiter>" }
        body += "<IsTruncated>\(truncated)</IsTruncated>"
        if truncated { body += "<NextContinuationToken>\(Self.escape(lastKey))</NextContinuationToken>" }
        for (key, o) in contents {
            body += "<Contents><Key>\(Self.escape(key))</Key><LastModified>\(Self.isoDate())</LastModified><ETag>&quot;\(o.etag)&quot;</ETag><Size>\(o.bytes.count)</Size><StorageClass>STANDARD</StorageClass></Contents>"
        }
        for p in prefixes { body += "<CommonPrefixes><Prefix>\(Self.escape(p))</Prefix></CommonPrefixes>" }
        return Self.xml(body + "</ListBucketResult>")
    }

    private var sseHeaders: [(String, String)] { _serverSideEncryption.map { [("x-amz-server-side-encryption", $0)] } ?? [] }

    private func makeETag(_ bytes: [UInt8]) -> String {
        switch _etagStyle {
        case .md5: return Digest.md5(bytes).hexString
        case .opaque: return opaque()
        }
    }

    /// 32 hex digits that are no MD5 of anything sent (SSE-KMS ETags).
    private func opaque() -> String {
        opaqueCounter += 1
        return Digest.md5(Array("opaque-etag-\(opaqueCounter)-\(port)".utf8)).hexString
    }

    private func noSuchUpload(_ r: Request) -> Answer {
        Self.error(
            404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
            resource: "/\(r.bucket)/\(r.key)")
    }

    static func error(_ status: Int, _ code: String, _ message: String, resource: String) -> Answer {
        xml("<Error><Code>\(code)</Code><Message>\(escape(message))</Message><Resource>\(escape(resource))</Resource><RequestId>STUB4442587FB7D0A2F9</RequestId><HostId>c3R1Yg==</HostId></Error>", status: status)
    }

    static func xml(_ body: String, status: Int = 200, headers: [(String, String)] = []) -> Answer {
        Answer(status: status, headers: [("Content-Type", "application/xml")] + headers, body: Array(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + body).utf8))
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func percentDecode(_ s: String) -> String { s.removingPercentEncoding ?? s }

    /// `bytes=first-last`, `bytes=first-`, `bytes=-suffix`.
    static func parseRange(_ header: String, size: Int) -> (Int, Int)? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = header.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard spec.count == 2 else { return nil }
        if spec[0].isEmpty {
            guard let suffix = Int(spec[1]), suffix > 0 else { return nil }
            return (max(0, size - suffix), size - 1)
        }
        guard let first = Int(spec[0]), first < size else { return nil }
        let last = spec[1].isEmpty ? size - 1 : min(size - 1, Int(spec[1]) ?? -1)
        return last >= first ? (first, last) : nil
    }

    static func httpDate() -> String { now(format: "EEE, dd MMM yyyy HH:mm:ss 'GMT'") }

    static func isoDate() -> String { now(format: "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'") }

    private static func now(format: String) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = format
        return f.string(from: Date())
    }
}

public struct StubError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Buffered reads from one connection.
private struct Reader {
    let fd: Int32
    var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// Reads more bytes; false at the end of the connection.
    mutating func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            buffer += chunk[0..<n]
            return true
        }
    }

    /// The request line and headers, without the blank line; nil when the connection ends.
    mutating func readHead() -> String? {
        while true {
            if let end = find([13, 10, 13, 10]) {
                let head = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                return head
            }
            guard buffer.count < 1 << 20, fill() else { return nil }
        }
    }

    mutating func read(count: Int) -> [UInt8]? {
        while buffer.count < count { guard fill() else { return nil } }
        let out = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return out
    }

    mutating func readLine() -> String? {
        while true {
            if let end = find([13, 10]) {
                let line = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(end + 2)
                return line
            }
            guard fill() else { return nil }
        }
    }

    mutating func readChunked() -> [UInt8]? {
        var body: [UInt8] = []
        while true {
            guard let line = readLine(), let size = Int(line.split(separator: ";")[0].trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
            if size == 0 {
                // Trailers until the blank line.
                while let trailer = readLine() { if trailer.isEmpty { return body } }
                return nil
            }
            guard let chunk = read(count: size), readLine() != nil else { return nil }
            body += chunk
        }
    }

    private func find(_ pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        var i = 0
        while i <= buffer.count - pattern.count {
            if buffer[i] == pattern[0] && Array(buffer[i..<(i + pattern.count)]) == pattern { return i }
            i += 1
        }
        return nil
    }
}
