import AgentSupport
import Config
import Foundation
import HTTPTransport
import Logging
import TestSupport
import Testing

@testable import Upload
@testable import Vault

/// Every command reaches a vault the same way: `max_attempts`, `concurrency`, the bandwidth
/// limit and the prefix of the configured vault, whichever direction (abort and cleanup once
/// ignored `max_attempts`).
@Suite struct VaultSessionTests {
    static func vault(_ extra: String = "") throws -> (TemporaryDirectory, ResolvedVault) {
        let dir = try TemporaryDirectory()
        let path = try dir.write(
            "agent.toml",
            """
            state_dir = "\(dir.path)/state"
            [vaults.main]
            provider = "minio"
            endpoint = "http://127.0.0.1:9"
            bucket = "b"
            prefix = "web-01/"
            access_key_id = "AKIAEXAMPLE1234"
            secret_access_key = "SuperSecretValue42"
            max_attempts = 7
            concurrency = 3
            bandwidth_limit = "1MiB/s"
            \(extra)
            """)
        chmod(path, 0o600)
        return (dir, try AgentConfig.load(path: path, environment: [:]).vault(named: "main"))
    }

    @Test func theSessionCarriesTheVaultsRetriesConcurrencyAndBandwidth() throws {
        let (dir, resolved) = try Self.vault()
        let http = HTTPClient()
        let session = try VaultSession(vault: resolved, http: http, logger: Logger(label: "test"), retryBaseDelay: 0.01)
        #expect(session.client.retry.maxAttempts == 7)
        #expect(session.concurrency == 3)
        #expect(session.prefix == "web-01/")
        #expect(session.bucket == "b")
        #expect(http.bandwidthLimit == 1 << 20)
        #expect(http.bandwidthShares == 3)
        withExtendedLifetime(dir) {}
    }

    @Test func uploadsReachTheVaultTheSameWay() throws {
        let (dir, resolved) = try Self.vault()
        let target = try UploadTarget(vault: resolved, overrides: RunOverrides(concurrency: 2), host: "h")
        let engine = UploadEngine(target: target, journal: Journal(stateDir: dir.path + "/state"), http: HTTPClient(), logger: Logger(label: "test"))
        #expect(engine.client.retry.maxAttempts == 7)
        #expect(engine.session.concurrency == 2)
        #expect(engine.http.bandwidthLimit == 1 << 20)
        #expect(target.endpoint.prefix == "web-01/")
    }

    @Test func aRunRateReplacesTheTimetable() throws {
        let (dir, resolved) = try Self.vault()
        _ = dir
        var timed = resolved
        timed.bandwidthTimetable = try BandwidthTimetable.parse("08:00,1MiB/s 19:00,off").get()
        #expect(try VaultEndpoint(vault: timed).bandwidthTimetable != nil)
        #expect(try VaultEndpoint(vault: timed, overrides: RunOverrides(bandwidthLimit: 5)).bandwidthTimetable == nil)
        #expect(try VaultEndpoint(vault: timed, overrides: RunOverrides(bandwidthLimit: 5)).bandwidthLimit == 5)
    }
}
