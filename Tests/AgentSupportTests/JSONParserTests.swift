import Testing

@testable import AgentSupport

// Each case here was a crash (or would be one) before the parser was bounded; the fuzz targets in
// Fuzz/ found the rest. A hostile document gives an error, never a trap or a stack overflow.

@Test func deepNestingIsAnErrorNotAStackOverflow() {
    for opener in ["[", "{\"a\":"] {
        let text = String(repeating: opener, count: 300_000)
        #expect(throws: JSONParseError.self) { try JSON.decode(text) }
        #expect(JSON.parse(text) == nil)
    }
    // Exactly at the bound is fine, one more is not.
    let atBound = String(repeating: "[", count: JSON.maxDepth) + String(repeating: "]", count: JSON.maxDepth)
    #expect(JSON.parse(atBound) != nil)
    let beyond = "[" + atBound + "]"
    do {
        _ = try JSON.decode(beyond)
        Issue.record("accepted \(JSON.maxDepth + 1) levels")
    } catch {
        #expect(error.reason.contains("nested deeper than \(JSON.maxDepth)"))
    }
}

@Test func unpairedSurrogatesAreReplacedNotTrapped() {
    // "\uD800\u0041": the old parser computed 0x41 - 0xDC00 in UInt32 and trapped.
    #expect(JSON.parse(#""\uD800\u0041""#)?.stringValue == "\u{FFFD}A")
    #expect(JSON.parse(#""\uD800""#)?.stringValue == "\u{FFFD}")
    #expect(JSON.parse(#""\uDC00x""#)?.stringValue == "\u{FFFD}x")
    #expect(JSON.parse(#""\uD800\uD800\uDC00""#)?.stringValue == "\u{FFFD}\u{10000}")
    #expect(JSON.parse(#""\uD83D\uDE00""#)?.stringValue == "\u{1F600}")
    #expect(JSON.parse(#""\uD800\u""#) == nil)
    #expect(JSON.parse(#""\u+123""#) == nil)
    #expect(JSON.parse(#""\u12""#) == nil)
}

@Test func truncatedDocumentsAreRefusedWithTheReason() {
    for text in ["", " ", "{", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,", "[1,", "[\"abc", "\"abc\\", "tru", "nul", "-"] {
        do {
            _ = try JSON.decode(text)
            Issue.record("accepted \(text.debugDescription)")
        } catch {
            #expect(!error.reason.isEmpty)
        }
    }
    #expect(throws: JSONParseError.self) { try JSON.decode("{} x") }
}

@Test func numbersFollowTheGrammarAndStayFinite() {
    #expect(JSON.parse("0") == .int(0))
    #expect(JSON.parse("-12") == .int(-12))
    #expect(JSON.parse("9223372036854775807") == .int(Int64.max))
    #expect(JSON.parse("1.5e3")?.doubleValue == 1500)
    #expect(JSON.parse("92233720368547758070")?.intValue == nil)  // beyond Int64: a double, not an int
    for bad in ["1e999", "-1e999", "01", "1.", ".5", "1e", "+1", "--1", "0x10", "NaN", "Infinity"] {
        #expect(JSON.parse(bad) == nil, "\(bad)")
    }
}

@Test func escapesAndWriterRoundTrip() throws {
    let value = JSON.object([
        ("s", .string("a\"b\\c\n\t\u{1}é中\u{1F600}/")), ("n", .int(-5)), ("d", .double(0.25)), ("b", .bool(true)), ("z", .null),
        ("a", .array([.int(1), .object([("k", .string(""))])])),
    ])
    for pretty in [false, true] {
        #expect(try JSON.decode(value.serialized(pretty: pretty)) == value)
    }
    #expect(JSON.parse(#""\/\b\f""#)?.stringValue == "/\u{8}\u{C}")
    #expect(JSON.parse(#""\q""#) == nil)
}

@Test func invalidUTF8BecomesReplacementCharacters() throws {
    let bytes: [UInt8] = [0x22, 0xFF, 0xFE, 0x22]
    #expect(try JSON.decode(bytes: bytes).stringValue == "\u{FFFD}\u{FFFD}")
}

@Test func saturatingSumNeverTraps() {
    #expect([Int64.max, 1, 5].saturatingSum { $0 } == Int64.max)
    #expect([Int64.min, -1].saturatingSum { $0 } == Int64.min)
    #expect([1, 2, 3].saturatingSum { Int64($0) } == 6)
}

@Test func durationsAndTimestampsRejectWhatCannotBeRepresented() {
    #expect(Units.parseDuration("1" + String(repeating: "9", count: 400) + "d") == nil)
    #expect(Units.parseDuration("30s") == 30)
    #expect(Timestamp.parseISO8601("2026-13-01T00:00:00Z") == nil)
    #expect(Timestamp.parseISO8601("2026-11-21T25:00:00Z") == nil)
    #expect(Timestamp.parseISO8601("-999-11-21T03:00:00Z") == nil)
    #expect(Timestamp.parseISO8601("2026-11-21T03:00:00Z") == 1_795_230_000)
}
