import AgentSupport
import Testing

/// `bandwidth_limit` timetables in rclone's form, read against an injected clock (minute of the week).
@Suite struct BandwidthTimetableTests {
    static let mib: Int64 = 1 << 20
    /// Minute of the week: Monday 00:00 is 0.
    static func at(_ day: Int, _ hour: Int, _ minute: Int = 0) -> Int { day * 1440 + hour * 60 + minute }

    func table(_ text: String) throws -> BandwidthTimetable { try BandwidthTimetable.parse(text).get() }

    @Test func dailyEntriesHoldUntilTheNextAndWrapAroundMidnight() throws {
        let t = try table("08:00,2MiB/s 19:00,20MiB/s 23:00,off")
        #expect(t.isTimetable)
        #expect(t.rate(minuteOfWeek: Self.at(0, 7, 59)) == 0)  // Sunday 23:00's "off" still holds on Monday morning
        #expect(t.rate(minuteOfWeek: Self.at(0, 8)) == 2 * Self.mib)
        #expect(t.rate(minuteOfWeek: Self.at(2, 18, 59)) == 2 * Self.mib)
        #expect(t.rate(minuteOfWeek: Self.at(2, 19)) == 20 * Self.mib)
        #expect(t.rate(minuteOfWeek: Self.at(6, 23, 30)) == 0)
        #expect(t.description == "08:00 2.0 MiB/s, 19:00 20.0 MiB/s, 23:00 off")
    }

    @Test func weekdayPrefixesMakeAWeeklyTable() throws {
        let t = try table("Mon-08:00,1MiB/s Fri-18:00,off sat-10:00,512KiB")
        #expect(t.rate(minuteOfWeek: Self.at(0, 7)) == 512 * 1024)  // before Monday 08:00: Saturday's entry
        #expect(t.rate(minuteOfWeek: Self.at(1, 12)) == Self.mib)
        #expect(t.rate(minuteOfWeek: Self.at(4, 18)) == 0)
        #expect(t.rate(minuteOfWeek: Self.at(6, 12)) == 512 * 1024)
        #expect(t.description.hasPrefix("Mon-08:00"))
    }

    @Test func aWeekdayEntryWinsOverAnEveryDayEntryAtTheSameTime() throws {
        let t = try table("09:00,1MiB/s Sun-09:00,off")
        #expect(t.rate(minuteOfWeek: Self.at(6, 10)) == 0)
        #expect(t.rate(minuteOfWeek: Self.at(5, 10)) == Self.mib)
    }

    @Test func aPlainRateIsNotATimetable() throws {
        let t = try table("20MiB/s")
        #expect(!t.isTimetable)
        #expect(t.rate(minuteOfWeek: Self.at(3, 3)) == 20 * Self.mib)
        #expect(try table("off").rate(minuteOfWeek: 0) == 0)
    }

    @Test(arguments: [
        "", "8:00,1MiB", "25:00,1MiB", "08:60,1MiB", "Foo-08:00,1MiB", "08:00,fast", "08:00,1M:2M", "08:00,1MiB 08:00,2MiB", "08:00", "08:00,0",
        "08:00,1MiB,2MiB", "fast",
    ])
    func malformedTimetablesAreRefusedWithAReason(text: String) {
        guard case .failure(let error) = BandwidthTimetable.parse(text) else {
            Issue.record("\"\(text)\" was accepted")
            return
        }
        #expect(!error.message.isEmpty)
    }

    @Test func sharesDivideEveryRateButOff() throws {
        let t = try table("08:00,2MiB/s 23:00,off").divided(by: 2)
        #expect(t.rate(minuteOfWeek: Self.at(0, 9)) == Self.mib)
        #expect(t.rate(minuteOfWeek: Self.at(0, 23, 30)) == 0)
    }
}
