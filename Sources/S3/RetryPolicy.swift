/// When and how long to wait before trying a request again: exponential backoff with full
/// jitter, `Retry-After` honoured, a per-request attempt budget. The single `shouldRetry`.
public struct RetryPolicy: Sendable {
    /// Attempts per request, the first included.
    public var maxAttempts: Int
    /// First backoff, doubled per attempt up to `maxDelay`.
    public var baseDelay: Double
    public var maxDelay: Double

    public init(maxAttempts: Int = 5, baseDelay: Double = 0.5, maxDelay: Double = 20) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    public enum Decision: Sendable, Equatable {
        case retry(after: Double)
        case giveUp
    }

    /// `attempt` is the number of the attempt that just failed (1 for the first).
    public func decide(_ failure: S3Failure, attempt: Int) -> Decision {
        guard failure.isTransient, attempt < maxAttempts else { return .giveUp }
        return .retry(after: delay(attempt: attempt, retryAfter: failure.retryAfter))
    }

    public func delay(attempt: Int, retryAfter: Double?) -> Double {
        let exponential = min(maxDelay, baseDelay * Double(1 << min(attempt - 1, 16)))
        let jittered = Double.random(in: (exponential / 2)...max(exponential / 2, exponential))
        if let retryAfter { return min(max(retryAfter, jittered), 300) }
        return jittered
    }
}
