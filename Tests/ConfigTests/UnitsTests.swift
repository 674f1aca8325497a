import AgentSupport
import Testing

/// The size and duration syntax of SPEC 4 as the config reads it.
struct UnitsTests {
    @Test func sizes() {
        #expect(Units.parseSize("512") == 512)
        #expect(Units.parseSize("100B") == 100)
        #expect(Units.parseSize("5KiB") == Int64(5 * 1024))
        #expect(Units.parseSize("16MiB") == 16 << 20)
        #expect(Units.parseSize("1GiB") == 1 << 30)
        #expect(Units.parseSize("5TiB") == 5 << 40)
        #expect(Units.parseSize("16 potatoes") == nil)
        #expect(Units.parseSize("") == nil)
        #expect(Units.parseSize("-5MiB") == nil)
    }

    @Test func rates() {
        #expect(Units.parseRate("20MiB/s") == 20 << 20)
        #expect(Units.parseRate("1KiB/s") == 1024)
        #expect(Units.parseRate("fast") == nil)
    }

    @Test func durations() {
        #expect(Units.parseDuration("500ms") == 0.5)
        #expect(Units.parseDuration("30s") == 30)
        #expect(Units.parseDuration("30") == 30)
        // On the command line a bare number is refused: `--max-age 26` is not 26 seconds.
        #expect(Units.parseDuration("26", requireUnit: true) == nil)
        #expect(Units.parseDuration("26h", requireUnit: true) == 93_600.0)
        #expect(Units.parseDuration("5m") == 300)
        #expect(Units.parseDuration("26h") == 93600)
        #expect(Units.parseDuration("soon") == nil)
        #expect(Units.parseDuration("10 parsecs") == nil)
    }
}
