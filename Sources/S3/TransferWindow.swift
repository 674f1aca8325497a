import HTTPTransport

/// The one scheduler of requests in flight over the HTTP client's multi loop (uploads' small
/// files and parts, restore's and `verify --deep`'s ranges, verify's HEADs): at most
/// `concurrency` requests at once, each retried by the client's `RetryPolicy` (one
/// classification, a count and a deadline), stopped by SIGINT/SIGTERM through the HTTP client's
/// `shouldCancel`, `fill` called whenever a slot frees so the caller launches what comes next,
/// and `onProgress` told the bytes of every request that succeeded.
///
/// An answer that needs blocking work of its own (a HEAD that verifies a PUT, a journal record
/// that must not overlap a launch) is `settle`d: it runs from `run`, outside the transfer
/// callbacks, with launching paused until it returns.
public final class TransferWindow {
    public let client: S3Client
    public let concurrency: Int
    public private(set) var inFlight = 0
    /// Set by `stop()` (a failure): nothing new is launched, requests in flight finish.
    public private(set) var isStopped = false
    /// Called when a slot may have freed: launch more with `send` while `hasRoom`.
    public var fill: () -> Void = {}
    /// Called with the `progress` bytes of each request whose answer was a success.
    public var onProgress: ((_ bytes: Int64) -> Void)?
    /// Work handed to `settle`, run by `run` in order.
    private var settling: [() -> Void] = []
    /// True while settled work runs: slots freed meanwhile are filled after it returns.
    private var isSettling = false

    public init(client: S3Client, concurrency: Int) {
        self.client = client
        self.concurrency = max(1, concurrency)
    }

    public var isCancelled: Bool { client.http.shouldCancel() }

    /// Whether another request may start now.
    public var hasRoom: Bool { !isStopped && !isCancelled && inFlight < concurrency }

    /// No new request from now on; those in flight finish.
    public func stop() { isStopped = true }

    /// Claims a slot for a request that cannot start yet (its body is still being hashed):
    /// `send(_:reserved: true)` then uses it, or `release()` gives it back.
    public func reserve() { inFlight += 1 }

    public func release() {
        inFlight -= 1
        slotFreed()
    }

    /// Sends `op` (with its retries); `completion` runs on the loop's thread, then `fill`.
    /// `reserved`: in the slot `reserve()` claimed. `progress`: the bytes `onProgress` is told
    /// when the answer is a success (a part's or a range's length).
    public func send(
        _ op: S3Client.Operation, reserved: Bool = false, progress: Int64 = 0,
        completion: @escaping (Result<HTTPResponse, S3Failure>, _ attempts: [String]) -> Void
    ) {
        if !reserved { inFlight += 1 }
        client.send(op) { [self] result, attempts in
            inFlight -= 1
            if progress > 0, case .success = result { onProgress?(progress) }
            completion(result, attempts)
            slotFreed()
        }
    }

    /// Tells `onProgress` of bytes the caller accepted after looking at an answer (a part whose
    /// ETag was recorded, a PUT verified): for answers a 2xx alone does not prove.
    public func progressed(_ bytes: Int64) { onProgress?(bytes) }

    /// Queues `work` to run from `run`, outside the transfer callbacks: it may make blocking
    /// requests of its own and change state a launch also changes, because nothing is launched
    /// while it runs (requests already in flight go on).
    public func settle(_ work: @escaping () -> Void) { settling.append(work) }

    private func slotFreed() {
        if !isSettling { fill() }
    }

    /// Launches (`fill`) and runs the loop until nothing is in flight or waiting to be settled,
    /// and either `done` says the work is over or the window stopped or was cancelled. `busy`:
    /// the caller's own work still pending on the loop (digests being computed), waited for as
    /// requests are.
    public func run(busy: () -> Bool = { false }, until done: () -> Bool) {
        fill()
        while true {
            client.http.run(until: {
                !self.settling.isEmpty || (self.inFlight == 0 && !busy() && (done() || self.isStopped || self.isCancelled))
            })
            guard !settling.isEmpty else { return }
            let work = settling
            settling = []
            isSettling = true
            for item in work { item() }
            isSettling = false
            fill()
        }
    }
}

/// Results that arrive out of order, consumed in order: at most `capacity` indices past the
/// consumed frontier may be claimed, so one slow or retried request cannot make the waiting
/// results (and memory) grow without bound.
public struct OrderedArrivals<Value> {
    public let capacity: Int
    /// The next index to consume.
    public private(set) var frontier = 0
    private var waiting: [Int: Value] = [:]

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Whether the result of `index` may be requested now.
    public func mayClaim(_ index: Int) -> Bool { index - frontier < capacity }

    public mutating func arrived(_ index: Int, _ value: Value) { waiting[index] = value }

    /// The result at the frontier, when it has arrived (the frontier then moves on).
    public mutating func next() -> Value? {
        guard let value = waiting.removeValue(forKey: frontier) else { return nil }
        frontier += 1
        return value
    }

    public var waitingCount: Int { waiting.count }
}
