import HTTPTransport
import Testing

@testable import Diagnostics

/// Review finding 6: the lock probe's few seconds of retention are counted on the storage
/// server's clock (the skew the `clock` check measured), not on this server's.
struct LockProbeClockTests {
    @Test func theProbesRetentionFollowsTheServersClock() {
        let test = ConnectionTest(options: .init(configPath: nil, environment: [:], vault: nil, noWrite: false), http: HTTPClient())
        test.wallClock = { 1_796_119_200 }
        #expect(test.serverNow() == 1_796_119_200)
        // This server's clock 30 s behind the storage server's: the server's now is 30 s later.
        test.report.clockSkew = -30
        #expect(test.serverNow() == 1_796_119_230)
        test.report.clockSkew = 12
        #expect(test.serverNow() == 1_796_119_188)
    }
}
