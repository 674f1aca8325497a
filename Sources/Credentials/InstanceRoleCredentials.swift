import AgentSupport
import Synchronization

/// The EC2 instance role's credentials, fetched once and fetched again before they expire, so
/// an upload that runs for hours keeps signing with valid keys. Safe to share between threads.
public final class InstanceRoleCredentials: Sendable {
    /// Credentials are renewed when fewer than this many seconds remain (the metadata service
    /// offers new ones at least 5 minutes before the old ones expire).
    public static let refreshMargin: Int64 = 10 * 60

    private let fetch: @Sendable () throws(AgentError) -> TemporaryCredentials
    private let clock: @Sendable () -> Int64
    private let cached = Mutex<TemporaryCredentials?>(nil)
    /// No new fetch before this time while valid credentials are held: the service offers new
    /// credentials only about 5 minutes before expiry, and an unreachable service would
    /// otherwise block every signed request.
    private let nextAttempt = Mutex<Int64>(0)
    static let retryInterval: Int64 = 30

    /// `fetch` gets fresh credentials (the metadata service); `clock` says the time in epoch seconds.
    public init(
        clock: @escaping @Sendable () -> Int64 = { Timestamp.now() },
        fetch: @escaping @Sendable () throws(AgentError) -> TemporaryCredentials
    ) {
        self.clock = clock
        self.fetch = fetch
    }

    /// Credentials from the metadata service `environment` names (see `InstanceMetadataClient`).
    public convenience init(environment: [String: String]) {
        let client = InstanceMetadataClient(environment: environment)
        self.init(fetch: { () throws(AgentError) in try client.fetchRoleCredentials() })
    }

    /// Valid credentials: the cached ones while more than `refreshMargin` remains, else fresh
    /// ones. A failed renewal keeps the old credentials while they are still valid.
    public func current() throws(AgentError) -> TemporaryCredentials {
        let now = clock()
        let held = cached.withLock { $0 }
        if let held, held.expiration - now > Self.refreshMargin { return held }
        if let held, held.expiration > now, nextAttempt.withLock({ $0 }) > now { return held }
        do {
            let fresh = try fetch()
            if let held, fresh.expiration <= held.expiration {
                // Not renewed yet: ask again a little later, not on every request.
                nextAttempt.withLock { $0 = now + Self.retryInterval }
            }
            cached.withLock { $0 = fresh }
            return fresh
        } catch {
            nextAttempt.withLock { $0 = now + Self.retryInterval }
            if let held, held.expiration > now { return held }
            throw error
        }
    }

    /// `current()`, or nil when no valid credentials can be had (the request then fails with
    /// the server's expired-token answer, which names the fix).
    public func currentIfAvailable() -> TemporaryCredentials? {
        try? current()
    }
}
