import AgentSupport
import Testing

/// `range(ofScalars:)` and `replacingAll`: exact-text search without _StringProcessing.
@Suite struct StringSearchTests {
    @Test func findsTheFirstOccurrenceAfterAPartialMatch() throws {
        let text = "htt:/ http://host"
        let r = try #require(text.range(ofScalars: "://"))
        #expect(text[..<r.lowerBound] == "htt:/ http")
        #expect(text[r.upperBound...] == "host")
        #expect("aaab".range(ofScalars: "aab").map { "aaab"[$0] } == "aab")
        #expect(Substring("x{a}{a}").range(ofScalars: "{a}").map { "x{a}{a}"[$0.lowerBound...] } == "{a}{a}")
    }

    @Test func missingEmptyAndLongerTargetsGiveNil() {
        #expect("abc".range(ofScalars: "abd") == nil)
        #expect("abc".range(ofScalars: "") == nil)
        #expect("ab".range(ofScalars: "abc") == nil)
        #expect("".range(ofScalars: "a") == nil)
    }

    @Test func replacesEveryOccurrenceIncludingNonASCII() {
        #expect("{r}.s3.{r}.example".replacingAll("{r}", with: "eu-west-1") == "eu-west-1.s3.eu-west-1.example")
        #expect("Grüße, Grüße".replacingAll("üß", with: "uess") == "Gruesse, Gruesse")
        #expect("key AKIAX and AKIAX".replacingAll("AKIAX", with: "AKIA…") == "key AKIA… and AKIA…")
        #expect("unchanged".replacingAll("", with: "x") == "unchanged")
        #expect("aaa".replacingAll("aa", with: "b") == "ba")
    }

    /// " \t\r\n" holds the Character "\r\n", not "\n": a lone "\n" (an IMDS answer's end) is trimmed all the same.
    @Test func trimsEachScalarOfTheSetWhateverTheGraphemes() {
        #expect("role\n".trimming(" \t\r\n") == "role")
        #expect("\r\n\t role \r".trimming(" \t\r\n") == "role")
        #expect("a\r\n".trimming(" \n") == "a\r\n")
        #expect("..x..".trimming(".") == "x")
        #expect(" \n".trimming(" \n") == "")
    }
}
