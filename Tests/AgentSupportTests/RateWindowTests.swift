import AgentSupport
import Testing

struct RateWindowTests {
    @Test func theRateIsOverTheLastWindowOnly() {
        var w = RateWindow(seconds: 10)
        #expect(w.rate == 0)
        w.add(at: 0, bytes: 0)
        w.add(at: 0.2, bytes: 1000)
        #expect(w.rate == 0, "less than half a second: no rate yet")
        // 1 MB/s for 20 s, then 10 kB/s: after 10 s more the old speed is forgotten.
        for t in 1...20 { w.add(at: Double(t), bytes: Int64(t) * 1_000_000) }
        #expect(abs(w.rate - 1_000_000) < 1)
        for t in 21...31 { w.add(at: Double(t), bytes: 20_000_000 + Int64(t - 20) * 10_000) }
        #expect(abs(w.rate - 10_000) < 1)
        #expect(w.samples.count <= 12)
    }

    @Test func aCounterThatGoesBackIsNotANegativeRate() {
        var w = RateWindow(seconds: 10)
        w.add(at: 0, bytes: 5000)
        w.add(at: 1, bytes: 1000)
        #expect(w.rate == 0)
    }
}
