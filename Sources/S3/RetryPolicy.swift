/// When and how long to wait before trying a request again: exponential backoff with full
/// jitter, `Retry-After` honoured, a per-request budget of attempts and of time. The single
/// `shouldRetry`: what is worth another try is `S3Failure.isTransient`, and nothing else decides.
public struct RetryPolicy: Sendable {
    /// Attempts per request, the first included.
    public var maxAttempts: Int
    /// First backoff, doubled per attempt up to `maxDelay`.
    public var baseDelay: Double
    public var maxDelay: Double
    /// Seconds a request may spend waiting between its attempts: no retry is scheduled whose wait
    /// would take the total past it (a server asking to wait long, again and again, cannot hold a
    /// run for hours). Time inside attempts does not count: a part that takes 20 minutes at a
    /// bandwidth limit keeps all of `maxAttempts`; a stalled attempt is cut by the stall timeout.
    public var deadline: Double

    public init(maxAttempts: Int = 5, baseDelay: Double = 0.5, maxDelay: Double = 20, deadline: Double = 900) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.deadline = deadline
    }

    public enum Decision: Sendable, Equatable {
        case retry(after: Double)
        case giveUp
    }

    /// `attempt` is the number of the attempt that just failed (1 for the first); `waited`: the
    /// seconds this request has already waited between attempts.
    public func decide(_ failure: S3Failure, attempt: Int, waited: Double = 0) -> Decision {
        guard failure.isTransient, attempt < maxAttempts else { return .giveUp }
        let wait = delay(attempt: attempt, retryAfter: failure.retryAfter)
        guard waited + wait < deadline else { return .giveUp }
        return .retry(after: wait)
    }

    public func delay(attempt: Int, retryAfter: Double?) -> Double {
        let exponential = min(maxDelay, baseDelay * Double(1 << min(attempt - 1, 16)))
        let jittered = Double.random(in: (exponential / 2)...max(exponential / 2, exponential))
        if let retryAfter { return min(max(retryAfter, jittered), 300) }
        return jittered
    }
}
