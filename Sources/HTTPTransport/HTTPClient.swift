import AgentSupport
import CCurl
import CCurlShim

#if canImport(Glibc)
    import Glibc
#endif

/// Runs HTTP requests through one libcurl multi handle: many at once, connections reused
/// between them. Not thread-safe: create it on, and use it from, one thread only.
///
/// The multi loop (`curl_multi_perform` + `curl_multi_poll`, draining `curl_multi_info_read`)
/// lives here and nowhere else.
public final class HTTPClient {
    private let multi: UnsafeMutableRawPointer
    private var transfers: [Int: CurlTransfer] = [:]
    private var byHandle: [UnsafeMutableRawPointer: Int] = [:]
    private var nextID = 1
    private var timers: [(due: Double, action: () -> Void)] = []

    /// Agent-wide bandwidth limit in bytes/s (0 = none), shared by `bandwidthShares` transfers.
    public var bandwidthLimit: Int64 = 0
    /// How many transfers the limit is divided among (the upload's concurrency).
    public var bandwidthShares = 1
    /// `bandwidth_limit` as a timetable: while set, it decides `bandwidthLimit` from `clock`, and
    /// a new rate at a boundary is applied to the transfers already running.
    public var bandwidthTimetable: BandwidthTimetable? {
        didSet {
            // Applied afresh on the next request: whoever set it may also have reset `bandwidthLimit`.
            timetableChecked = -.infinity
            timetableRate = nil
        }
    }
    /// Wall-clock seconds since the epoch; tests inject their own.
    public var clock: () -> Int64 = { Timestamp.now() }
    /// Called with the new limit (bytes/s, 0 = none) whenever the timetable changes it.
    public var onBandwidthChange: ((Int64) -> Void)?
    private var timetableChecked = -Double.infinity
    private var timetableRate: Int64?
    /// Polled while transfers run; returning true aborts them all (SIGINT/SIGTERM).
    public var shouldCancel: () -> Bool = { false }
    /// Called about every `tickInterval` seconds while the loop runs (progress lines).
    public var onTick: (() -> Void)?
    public var tickInterval: Double = 1
    /// Bytes libcurl reads from a file body per callback and sends per call: 512 KiB measured
    /// 7% less CPU per GiB than libcurl's 64 KiB on loopback (`make bench`); 256 KiB costs no
    /// measurable CPU against 512 KiB and saves 256 KiB per transfer in flight (1 GiB upload,
    /// 4 parts at once: peak RSS 24.8 -> 23.5 MiB, issue 12); 128 KiB saved nothing more.
    /// 0 keeps libcurl's default.
    public var uploadBufferSize = 256 << 10
    /// Where other threads hand this thread their results (the digest pool's, issue 17).
    public let inbox: Inbox
    /// Posts to `inbox` the owner still waits for (set by the owner as it hands out work, on
    /// this thread): `run…` keeps going while any is due, even with no request in flight.
    public var awaitedPosts = 0

    public init() {
        HTTPClient.globalInit
        // curl_multi_init only fails when out of memory.
        guard let m = curl_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
        multi = m
        inbox = Inbox(multi: m)
        // Up to 8 connections per host are kept warm for reuse across parts.
        _ = ccurl_multi_setopt_long(m, CURLMOPT_MAX_HOST_CONNECTIONS, 0)
        _ = ccurl_multi_setopt_long(m, CURLMOPT_MAXCONNECTS, 16)
    }

    deinit {
        inbox.close()
        for (_, t) in transfers {
            curl_multi_remove_handle(multi, t.handle)
            curl_easy_cleanup(t.handle)
        }
        curl_multi_cleanup(multi)
    }

    private static let globalInit: Void = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    /// `curl_global_init`, once per process, for code that uses easy handles on their own.
    static func ensureGlobalInit() { globalInit }

    /// Number of requests in flight.
    public var activeCount: Int { transfers.count }

    /// Body bytes libcurl took from finished requests / received for them (progress).
    private var finishedBytesSent: Int64 = 0
    private var finishedBytesReceived: Int64 = 0

    /// Request body bytes libcurl has taken so far on this client, retried requests included:
    /// what this run really sent, as curl sends it.
    public var bytesSent: Int64 { finishedBytesSent + inFlightBytesSent }

    /// Request body bytes of the requests still in flight (not yet confirmed by an answer).
    public var inFlightBytesSent: Int64 { transfers.values.reduce(0) { $0 + $1.bodyPosition } }

    /// Response body bytes received so far on this client.
    public var bytesReceived: Int64 { finishedBytesReceived + transfers.values.reduce(0) { $0 + $1.responseLength } }

    /// Whether anything is left to drive: requests in flight or timers pending.
    public var isBusy: Bool { !transfers.isEmpty || !timers.isEmpty || awaitedPosts > 0 }

    /// Runs `action` on this thread, from within `run…`, once `seconds` have passed (retry backoff).
    public func after(_ seconds: Double, _ action: @escaping () -> Void) {
        timers.append((due: monotonicSeconds() + max(0, seconds), action: action))
    }

    private func fireDueTimers() {
        guard !timers.isEmpty else { return }
        let now = monotonicSeconds()
        let due = timers.filter { $0.due <= now }
        guard !due.isEmpty else { return }
        timers.removeAll { $0.due <= now }
        for t in due { t.action() }
    }

    /// Starts a request; `completion` runs on this thread from within `run…`.
    @discardableResult
    public func start(_ request: HTTPRequest, completion: @escaping (Result<HTTPResponse, TransportError>) -> Void) -> Int {
        let id = nextID
        nextID += 1
        applyTimetable()
        guard let easy = curl_easy_init() else {
            completion(.failure(TransportError(kind: .other, curlCode: -1, message: "curl_easy_init failed")))
            return id
        }
        let (send, recv) = rates(for: request)
        var request = request
        if let floor = stallFloor(request, send: send, receive: recv) { request.options.stallMinRate = floor }
        let t = CurlTransfer(id: id, handle: easy, request: request, completion: completion)
        do {
            try t.configure(sendRate: send, receiveRate: recv, uploadBufferSize: uploadBufferSize)
        } catch {
            curl_easy_cleanup(easy)
            completion(.failure(error))
            return id
        }
        let rc = curl_multi_add_handle(multi, easy)
        if rc != CURLM_OK {
            curl_easy_cleanup(easy)
            let msg = String(cString: curl_multi_strerror(rc))
            completion(.failure(TransportError(kind: .other, curlCode: Int32(rc.rawValue), message: msg)))
            return id
        }
        transfers[id] = t
        byHandle[easy] = id
        return id
    }

    /// The send and receive limits of one request: its own, else its share of the agent-wide limit.
    private func rates(for request: HTTPRequest) -> (send: Int64, receive: Int64) {
        let share = bandwidthLimit > 0 ? max(1, bandwidthLimit / Int64(max(1, bandwidthShares))) : 0
        return (request.options.maxSendRate > 0 ? request.options.maxSendRate : share, request.options.maxReceiveRate > 0 ? request.options.maxReceiveRate : share)
    }

    /// A transfer held to a rate limit below the stall floor would be cut as stalled every time:
    /// the lowered floor, or nil when the configured one fits.
    private func stallFloor(_ request: HTTPRequest, send: Int64, receive: Int64) -> Int64? {
        let cap: Int64 = [send, receive].filter { $0 > 0 }.min() ?? 0
        guard cap > 0, request.options.stallMinRate * 2 > cap else { return nil }
        return max(1, cap / 4)
    }

    /// Follows the timetable: at most once a second, and on every new request, the limit for the
    /// current time; a change is applied to every transfer in flight (libcurl reads its speed
    /// limits on every send and receive, so a running transfer slows down or speeds up at once).
    private func applyTimetable() {
        guard let table = bandwidthTimetable else { return }
        let now = monotonicSeconds()
        guard now - timetableChecked >= 1 else { return }
        timetableChecked = now
        let rate = table.rate(at: clock())
        guard rate != timetableRate else { return }
        timetableRate = rate
        bandwidthLimit = rate
        for t in transfers.values {
            let (send, recv) = rates(for: t.request)
            let floor = stallFloor(t.request, send: send, receive: recv) ?? t.request.options.stallMinRate
            t.changeRates(send: send, receive: recv, stallMinRate: floor)
        }
        onBandwidthChange?(rate)
    }

    /// Aborts one request; its completion gets `.aborted`.
    public func cancel(_ id: Int) {
        guard let t = transfers[id] else { return }
        finish(t, result: .failure(TransportError(kind: .aborted, curlCode: Int32(CURLE_ABORTED_BY_CALLBACK.rawValue), message: "cancelled")))
    }

    /// Aborts every request in flight.
    public func cancelAll() {
        timers.removeAll()
        for id in transfers.keys.sorted() { cancel(id) }
    }

    /// Drives transfers until none is left (completions may start new ones).
    public func runUntilIdle() {
        run(until: { false })
    }

    /// Drives transfers until none is left or `condition` holds.
    public func run(until condition: () -> Bool) {
        var lastTick = monotonicSeconds()
        while true {
            runPosts()
            guard isBusy, !condition() else { break }
            if shouldCancel() {
                cancelAll()
                break
            }
            fireDueTimers()
            applyTimetable()
            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            drain()
            runPosts()
            if !isBusy || condition() { break }
            var wait = 200
            if let next = timers.map(\.due).min() {
                wait = max(0, min(wait, Int((next - monotonicSeconds()) * 1000) + 1))
            }
            // Returns early on network activity and on `inbox.post` (curl_multi_wakeup).
            var numfds: Int32 = 0
            curl_multi_poll(multi, nil, 0, Int32(wait), &numfds)
            if let tick = onTick {
                let now = monotonicSeconds()
                if now - lastTick >= tickInterval {
                    lastTick = now
                    tick()
                }
            }
        }
    }

    /// Runs posted actions, and nothing else, until `condition` holds: the owner waits for work
    /// it handed to other threads after its requests are done or cancelled (SIGTERM included).
    public func waitForPosts(until condition: () -> Bool) {
        while !condition() {
            if !runPosts() { inbox.wait(milliseconds: 200) }
        }
    }

    /// Runs what other threads posted; true when there was something.
    @discardableResult
    private func runPosts() -> Bool {
        let actions = inbox.take()
        guard !actions.isEmpty else { return false }
        awaitedPosts = max(0, awaitedPosts - actions.count)
        for action in actions { action() }
        return true
    }

    /// Sends one request and waits for its answer (other requests in flight progress too).
    public func execute(_ request: HTTPRequest) -> Result<HTTPResponse, TransportError> {
        var result: Result<HTTPResponse, TransportError>?
        start(request) { result = $0 }
        run(until: { result != nil })
        if result == nil, shouldCancel() {
            return .failure(TransportError(kind: .aborted, curlCode: Int32(CURLE_ABORTED_BY_CALLBACK.rawValue), message: "interrupted"))
        }
        return result ?? .failure(TransportError(kind: .other, curlCode: -1, message: "request did not complete"))
    }

    private func drain() {
        var remaining: Int32 = 0
        while let msg = curl_multi_info_read(multi, &remaining) {
            guard msg.pointee.msg == CURLMSG_DONE, let easy = msg.pointee.easy_handle else { continue }
            let code = msg.pointee.data.result
            guard let id = byHandle[easy], let t = transfers[id] else { continue }
            if code == CURLE_OK {
                finish(t, result: .success(t.makeResponse()))
            } else {
                var error = TransportError.from(code: code, detail: t.errorDetail)
                if let r = t.readFailure {
                    error = TransportError(kind: .fileRead, curlCode: Int32(code.rawValue), message: r)
                } else if let w = t.writeFailure {
                    error = TransportError(kind: .fileRead, curlCode: Int32(code.rawValue), message: w, writeErrno: t.writeErrno)
                }
                finish(t, result: .failure(error))
            }
        }
    }

    private func finish(_ t: CurlTransfer, result: Result<HTTPResponse, TransportError>) {
        curl_multi_remove_handle(multi, t.handle)
        finishedBytesSent += t.bodyPosition
        finishedBytesReceived += t.responseLength
        transfers[t.id] = nil
        byHandle[t.handle] = nil
        curl_easy_cleanup(t.handle)
        t.completion(result)
    }
}

/// Seconds on a monotonic clock.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Seconds since the Unix epoch, wall clock.
public func wallClockSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
