import Testing

@testable import Providers

/// Inputs that crashed the agent (found by `make fuzz`, target config/profile): toml++ 3.3 aborts
/// on a table header whose name starts with another character. Each must be a parse error.
struct TOMLHostileInputTests {
    @Test(arguments: ["[[:rr]]\nx = 1\n", "[ :x]\n", "[[ +y ]]\n", "a = 1\n[\t@]\n", "[\u{00e9}]\n", "x = 1\r\n[*]\r\n"])
    func aTableHeaderStartingWithAnInvalidCharacterIsAnError(text: String) {
        do {
            _ = try TOMLTable.parse(text)
            Issue.record("accepted \(text.debugDescription)")
        } catch {
            #expect(error.description.contains("table header"), "\(error)")
        }
    }

    /// toml++'s own checks that malformed input can reach (a time cut by quotes) are parse errors too.
    @Test(arguments: ["d = 1979-05-27T\u{27}\u{27}\u{27}32:00Z\n", "a = 1\nd = 1979-05-27T'32:00Z\n"])
    func anInternalCheckOfTheParserIsAnErrorNotAnAbort(text: String) {
        #expect(throws: TOMLParseError.self) { _ = try TOMLTable.parse(text) }
    }

    @Test func valuesThatLookLikeHeadersAreStillRead() throws {
        // A '[' first on a line inside a multi-line string or a value array is no header.
        let text = """
            a = \"\"\"
            [:not a header]
            \"\"\"
            b = [
              [+1],
              [{ c = 1 }],
            ]
            c = '''
            [*]'''
            d = "[:x" # [:y]
            [ok]
            [[list]]
            ["quoted"]
            """
        let root = try TOMLTable.parse(text)
        #expect(root.keys == ["a", "b", "c", "d", "ok", "list", "quoted"])
    }
}
