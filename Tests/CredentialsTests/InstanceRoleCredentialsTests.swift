import AgentSupport
import Synchronization
import Testing

@testable import Credentials

/// When the instance role's credentials are fetched again, and what a failed renewal does.
struct InstanceRoleCredentialsTests {
    /// A fake metadata service: hands out numbered credentials valid for `lifetime` seconds
    /// from the fake clock's time, or fails when told to.
    final class FakeService: Sendable {
        let now = Mutex<Int64>(1_000_000)
        let fetches = Mutex(0)
        let attempts = Mutex(0)
        let failing = Mutex(false)
        let lifetime: Int64 = 3600

        func fetch() throws(AgentError) -> TemporaryCredentials {
            attempts.withLock { $0 += 1 }
            if failing.withLock({ $0 }) { throw AgentError(.invalidConfig, "metadata service down", hint: "none") }
            let n = fetches.withLock { value -> Int in
                value += 1
                return value
            }
            return TemporaryCredentials(accessKeyID: "ASIA\(n)", secretAccessKey: "secret\(n)", sessionToken: "token\(n)", expiration: now.withLock { $0 } + lifetime)
        }

        func advance(_ seconds: Int64) { now.withLock { $0 += seconds } }

        func role() -> InstanceRoleCredentials {
            InstanceRoleCredentials(clock: { self.now.withLock { $0 } }, fetch: { () throws(AgentError) in try self.fetch() })
        }
    }

    @Test func credentialsAreCachedWhileFarFromExpiry() throws {
        let service = FakeService()
        let role = service.role()
        #expect(try role.current().accessKeyID == "ASIA1")
        service.advance(3600 - InstanceRoleCredentials.refreshMargin - 1)
        #expect(try role.current().accessKeyID == "ASIA1")
        #expect(service.fetches.withLock { $0 } == 1)
    }

    @Test func credentialsAreRenewedWithinTheRefreshMargin() throws {
        let service = FakeService()
        let role = service.role()
        _ = try role.current()
        service.advance(3600 - InstanceRoleCredentials.refreshMargin + 1)
        let renewed = try role.current()
        #expect(renewed.accessKeyID == "ASIA2" && renewed.sessionToken == "token2")
        #expect(service.fetches.withLock { $0 } == 2)
    }

    @Test func renewalIsNotAskedForOnEveryRequestWhileTheServiceHasNoNewCredentials() throws {
        let service = FakeService()
        let role = service.role()
        _ = try role.current()
        service.advance(3600 - 60)
        service.failing.withLock { $0 = true }
        for _ in 0..<50 { #expect(try role.current().accessKeyID == "ASIA1") }
        // One failed attempt, not fifty: an unreachable service must not block every request.
        #expect(service.attempts.withLock { $0 } == 2)
        // After the retry interval it asks again, and gets new credentials.
        service.failing.withLock { $0 = false }
        service.advance(31)
        #expect(try role.current().accessKeyID == "ASIA2")
    }

    @Test func failedRenewalKeepsCredentialsThatAreStillValid() throws {
        let service = FakeService()
        let role = service.role()
        _ = try role.current()
        service.advance(3600 - 60)
        service.failing.withLock { $0 = true }
        #expect(try role.current().accessKeyID == "ASIA1")
    }

    @Test func failedRenewalOfExpiredCredentialsThrows() throws {
        let service = FakeService()
        let role = service.role()
        _ = try role.current()
        service.advance(3600 + 1)
        service.failing.withLock { $0 = true }
        #expect(throws: AgentError.self) { try role.current() }
        #expect(role.currentIfAvailable() == nil)
    }
}
