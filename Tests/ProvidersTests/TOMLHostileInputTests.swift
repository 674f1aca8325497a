import Testing
import AgentSupport

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
            #expect(error.reason == .invalidTableHeader, "\(error)")
            #expect(error.line >= 1 && error.column >= 1, "\(error)")
            #expect(error.description.contains("table header"), "\(error)")
        }
    }

    /// toml++'s own checks that malformed input can reach (a time cut by quotes) are parse errors too.
    @Test(arguments: ["d = 1979-05-27T\u{27}\u{27}\u{27}32:00Z\n", "a = 1\nd = 1979-05-27T'32:00Z\n"])
    func anInternalCheckOfTheParserIsAnErrorNotAnAbort(text: String) {
        do {
            _ = try TOMLTable.parse(text)
            Issue.record("accepted \(text.debugDescription)")
        } catch {
            // toml++ reports some as syntax errors, its internal check others: a typed refusal either way.
            switch error.reason {
            case .syntax, .parserCheckFailed: break
            default: Issue.record("unexpected reason \(error.reason)")
            }
        }
    }

    /// The one translation into INVALID_CONFIG keeps the typed error as its cause, and names the
    /// file, line and column; a refusal without a place names the file alone (never "FILE:0:0").
    @Test func aParseErrorBecomesInvalidConfigWithItsTypedCause() {
        do {
            _ = try TOMLSection.parse("a = 1\n[:x]\n", file: "agent.toml")
            Issue.record("accepted")
        } catch {
            #expect(error.code == .invalidConfig)
            #expect(error.cause as? TOMLParseError == TOMLParseError(.invalidTableHeader, line: 2, column: 2))
            #expect(error.message == "agent.toml:2:2: malformed TOML: a table header's name must start with a letter, digit, '_', '-' or a quote")
            #expect(error.hint.contains("line 2 of agent.toml"))
        }
        let unplaced = TOMLParseError(.parserCheckFailed, line: 0, column: 0).agentError(file: "agent.toml")
        #expect(unplaced.message.hasPrefix("agent.toml: malformed TOML: "), "\(unplaced.message)")
        #expect(!unplaced.hint.contains("line 0"))
        #expect(unplaced.cause as? TOMLParseError == TOMLParseError(.parserCheckFailed, line: 0, column: 0))
    }

    @Test func aSyntaxErrorCarriesTomlPlusPlusDescriptionAndPlace() {
        do {
            _ = try TOMLTable.parse("a = 1\nb = \"open\n")
            Issue.record("accepted")
        } catch {
            guard case .syntax(let why) = error.reason else {
                Issue.record("unexpected reason \(error.reason)")
                return
            }
            #expect(!why.isEmpty)
            #expect(error.line == 2)
        }
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
