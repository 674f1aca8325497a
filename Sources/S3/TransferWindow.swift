import HTTPTransport

/// The one scheduler of requests in flight over the HTTP client's multi loop (uploads' small
/// files and parts, `verify --deep`'s ranges): at most `concurrency` requests at once, each
/// retried by the client's `RetryPolicy` (one classification, a count and a deadline), stopped by
/// SIGINT/SIGTERM through the HTTP client's `shouldCancel`, and `fill` called whenever a slot
/// frees so the caller launches what comes next.
public final class TransferWindow {
    public let client: S3Client
    public let concurrency: Int
    public private(set) var inFlight = 0
    /// Set by `stop()` (a failure): nothing new is launched, requests in flight finish.
    public private(set) var isStopped = false
    /// Called when a slot may have freed: launch more with `send` while `hasRoom`.
    public var fill: () -> Void = {}

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
        fill()
    }

    /// Sends `op` (with its retries); `completion` runs on the loop's thread, then `fill`.
    /// `reserved`: in the slot `reserve()` claimed.
    public func send(
        _ op: S3Client.Operation, reserved: Bool = false, completion: @escaping (Result<HTTPResponse, S3Failure>, _ attempts: [String]) -> Void
    ) {
        if !reserved { inFlight += 1 }
        client.send(op) { [self] result, attempts in
            inFlight -= 1
            completion(result, attempts)
            fill()
        }
    }

    /// Launches (`fill`) and runs the loop until nothing is in flight and either `done` says the
    /// work is over or the window stopped or was cancelled. `busy`: the caller's own work still
    /// pending on the loop (digests being computed), waited for as requests are.
    public func run(busy: () -> Bool = { false }, until done: () -> Bool) {
        fill()
        client.http.run(until: { self.inFlight == 0 && !busy() && (done() || self.isStopped || self.isCancelled) })
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
