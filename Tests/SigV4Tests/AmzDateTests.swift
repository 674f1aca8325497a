import Testing

@testable import SigV4

@Suite struct AmzDateTests {
    @Test(arguments: [
        (Int64(0), "19700101T000000Z"),
        (1_369_353_600, "20130524T000000Z"),
        (1_440_938_160, "20150830T123600Z"),
        (951_868_799, "20000229T235959Z"),
        (4_107_542_400, "21000301T000000Z"),
        (-1, "19691231T235959Z"),
    ])
    func formatWritesBasicISO8601InUTC(epoch: Int64, expected: String) {
        #expect(AmzDate.format(epoch) == expected)
    }

    @Test func formatClampsTimesFourDigitsCannotWrite() {
        #expect(AmzDate.format(Int64.max) == "99991231T235959Z")
        #expect(AmzDate.format(Int64.min) == "00000101T000000Z")
    }

    @Test(arguments: [
        ("Sun, 06 Nov 1994 08:49:37 GMT", Int64(784_111_777)),
        ("Fri, 24 May 2013 00:00:00 GMT", 1_369_353_600),
        ("2013-05-24T00:00:00Z", 1_369_353_600),
        ("2013-05-24T00:00:00.000Z", 1_369_353_600),
        ("2013-05-24T02:00:00+02:00", 1_369_353_600),
        ("2013-05-23T19:30:00-04:30", 1_369_353_600),
        ("20130524T000000Z", 1_369_353_600),
        ("Tue, 29 Feb 2000 23:59:59 GMT", 951_868_799),
    ])
    func parseReadsServerDates(text: String, expected: Int64) {
        #expect(AmzDate.parseHTTPDate(text) == expected)
    }

    @Test(arguments: [
        "", "garbage", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT", "Mon, 29 Feb 1900 00:00:00 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT", "2013-13-24T00:00:00Z", "2013-05-24T00:00:00", "2013-05-24T00:00:00.Z",
        "2013-05-24 00:00:00Z", "2013-05-24T00:00:00Zjunk", "20130524T000000", "2013-05-24T00:00:00+2:00",
    ])
    func parseRejectsMalformedOrImpossibleDates(text: String) {
        #expect(AmzDate.parseHTTPDate(text) == nil)
    }

    @Test func formatAndParseRoundTripAcrossYears() {
        var epoch: Int64 = -2_208_988_800  // 1900-01-01
        while epoch < 7_258_118_400 {  // 2200-01-01
            #expect(AmzDate.parseHTTPDate(AmzDate.format(epoch)) == epoch)
            epoch += 7_654_321
        }
    }
}
