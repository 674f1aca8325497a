import Synchronization

/// How far this machine's clock is from each storage endpoint's, learned from a request the
/// server refused for its time (as the AWS SDKs do): requests to that endpoint are then signed
/// with local time + offset for the rest of the run. Process-wide, safe from any thread.
public enum ClockOffsets {
    private struct State {
        var offsets: [String: Int64] = [:]
        var lastSeen: Int64?
        var warned = false
    }

    private static let state = Mutex(State())

    /// Seconds to add to the local clock when signing for `endpoint` (0 until a skew was seen).
    public static func offset(for endpoint: String) -> Int64 {
        state.withLock { $0.offsets[endpoint] ?? 0 }
    }

    /// Records the offset of `endpoint` (server time − local time). Returns true the first time
    /// in this run a skew is recorded: the caller says so once.
    @discardableResult
    public static func record(_ offset: Int64, for endpoint: String) -> Bool {
        state.withLock { s in
            s.offsets[endpoint] = offset
            s.lastSeen = offset
            if s.warned { return false }
            s.warned = true
            return true
        }
    }

    /// The offset seen last in this run, any endpoint (metrics); nil when none was seen.
    public static var lastSeen: Int64? { state.withLock { $0.lastSeen } }

    /// Forgets everything (tests).
    public static func reset() { state.withLock { $0 = State() } }
}
