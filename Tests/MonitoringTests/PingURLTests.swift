import Monitoring
import Testing

@Suite struct PingURLTests {
    @Test func theHealthchecksSuffixesGoBeforeTheQueryAndTheRunIDAfterIt() {
        let rid = "0b8a52d4-7d5c-4f0e-9a53-6f3b3c1c2d3e"
        #expect(PingURL.make("https://hc-ping.com/abc", kind: .start, runID: rid) == "https://hc-ping.com/abc/start?rid=\(rid)")
        #expect(PingURL.make("https://hc-ping.com/abc/", kind: .success, runID: rid) == "https://hc-ping.com/abc?rid=\(rid)")
        #expect(PingURL.make("https://hc-ping.com/key/slug?create=1", kind: .failure, runID: rid) == "https://hc-ping.com/key/slug/fail?create=1&rid=\(rid)")
    }

    @Test func anUptimeKumaPushGetsItsStatusInTheQueryAndNoStartPing() {
        let rid = "0b8a52d4-7d5c-4f0e-9a53-6f3b3c1c2d3e"
        let base = "https://kuma.example.internal/api/push/Tok3n?status=up&msg=OK&ping="
        #expect(PingURL.isUptimeKumaPush(base))
        #expect(PingURL.make(base, kind: .start, runID: rid) == nil)
        #expect(PingURL.make(base, kind: .success, runID: rid) == "https://kuma.example.internal/api/push/Tok3n?msg=OK&ping=&status=up")
        #expect(PingURL.make(base, kind: .failure, runID: rid, failureMessage: "offsite upload failed: exit status 1")
            == "https://kuma.example.internal/api/push/Tok3n?ping=&msg=offsite%20upload%20failed%3A%20exit%20status%201&status=down")
        // A bare push URL gets a status of its own.
        #expect(PingURL.make("http://k:3001/api/push/T", kind: .success, runID: rid) == "http://k:3001/api/push/T?status=up")
        // Healthchecks URLs are not mistaken for it, even with "push" elsewhere.
        #expect(!PingURL.isUptimeKumaPush("https://hc-ping.com/push/abc"))
        #expect(!PingURL.isUptimeKumaPush("https://hc-ping.com/abc?next=/api/push/x"))
    }

    @Test func runIDsAreVersion4UUIDs() {
        let a = PingURL.newRunID()
        let b = PingURL.newRunID()
        #expect(a != b)
        let groups = a.split(separator: "-").map(\.count)
        #expect(groups == [8, 4, 4, 4, 12])
        #expect(Array(a)[14] == "4")
        #expect("89ab".contains(Array(a)[19]))
    }

    @Test func bodiesAreCappedAtACharacterBoundary() {
        let text = String(repeating: "é", count: 60_000)  // 120 000 bytes
        let capped = PingURL.capBody(text)
        #expect(capped.count <= 100_000)
        let decoded = String(decoding: capped, as: UTF8.self)
        #expect(!decoded.contains("\u{FFFD}"))
        #expect(decoded.hasSuffix("[truncated: the agent's log has the rest]\n"))
        #expect(PingURL.capBody("short") == Array("short".utf8))
    }
}
