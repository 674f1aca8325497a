import AgentSupport
import Testing

@testable import Providers

/// Lines of keys and tables come from the parser (toml++ source regions), for "file:line" in messages.
struct TOMLPositionTests {
    static let text = """
        # comment
        name = "x"
        list = [
          "a = 1",
          "b",
        ]
        text = \"\"\"
        fake = 2
        \"\"\"
        [vaults.zeta]
        bucket = "b"
        [vaults."alpha beta"]
        a.b = 1
        "s3:PutObject" = "w"
        [vaults.mid]
        inline = { x = 1, y = [2, 3] }
        """

    @Test func findsTablesKeysAndDottedKeys() throws {
        let root = try TOMLSection.parse(Self.text, file: "f.toml")
        #expect(root.location("name") == "f.toml:2")
        #expect(root.location("list") == "f.toml:3")
        #expect(root.location("text") == "f.toml:7")
        #expect(root.location("fake") == "f.toml")
        #expect(!root.contains("fake") && !root.contains("a"))
        let vaults = try #require(try root.section("vaults"))
        #expect(vaults.keys == ["zeta", "alpha beta", "mid"])
        let zeta = try #require(try vaults.section("zeta"))
        #expect(zeta.location() == "f.toml:10")
        #expect(zeta.location("bucket") == "f.toml:11")
        #expect(zeta.location("missing") == "f.toml:10")
        let alpha = try #require(try vaults.section("alpha beta"))
        #expect(alpha.location("s3:PutObject") == "f.toml:14")
        #expect(try alpha.section("a")?.location("b") == "f.toml:13")
        #expect(alpha.fieldName("s3:PutObject") == "vaults.\"alpha beta\".\"s3:PutObject\"")
        let mid = try #require(try vaults.section("mid"))
        #expect(try mid.section("inline")?.location("y") == "f.toml:16")
        #expect(try mid.section("inline")?.int("x") == 1)
    }

    @Test func keysAreInFileOrderNotAlphabetical() throws {
        let root = try TOMLSection.parse("zulu = 1\nalpha = 2\n[mike]\n[bravo.x]\n[bravo]\ny = 1\n", file: "f")
        #expect(root.keys == ["zulu", "alpha", "mike", "bravo"])
    }

    @Test func malformedTOMLNamesLineAndColumn() {
        for (text, line) in [("a = 1\nb = \"open\n", 2), ("a = 1\na = 2\n", 2), ("[t]\nx = 1\n[t]\n", 3), ("x = 1979-13-40\n", 1), ("x = [1,\n", 1)] {
            do {
                _ = try TOMLSection.parse(text, file: "bad.toml")
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.code == .invalidConfig)
                #expect((error.cause as? TOMLParseError)?.line == line, "\(error.message)")
                #expect(error.message.hasPrefix("bad.toml:\(line):"), "\(error.message)")
                #expect(error.message.contains("malformed TOML"))
            }
        }
    }

    @Test func everyTOMLTypeIsReadAndNamedInTypeErrors() throws {
        let root = try TOMLSection.parse(
            """
            s = 'lit\\eral'
            i = 0x1F
            big = 9_223_372_036_854_775_807
            f = 6.5e-1
            b = false
            d = 1979-05-27
            t = 07:32:00.5
            dt = 1979-05-27T07:32:00-08:00
            ldt = 1979-05-27T07:32:00
            a = [[1, 2], ["x"]]
            """, file: "t")
        #expect(try root.string("s") == "lit\\eral")
        #expect(try root.int("i") == 31)
        #expect(try root.int("big") == Int.max)
        #expect(try root.duration("f") == 0.65)
        #expect(try root.bool("b") == false)
        // A NUL inside a string is kept (TOMLKit cut the string there: the one difference between the two
        // readers, kept out of the comparison corpus).
        #expect(try TOMLSection.parse("nul = \"a\\u0000b\"", file: "t").string("nul") == "a\u{0}b")
        #expect(root.table["d"]?.type == .date && root.table["t"]?.type == .time && root.table["dt"]?.type == .dateTime)
        if case .dateTime(let text)? = root.table["dt"]?.content { #expect(text == "1979-05-27T07:32:00-08:00") }
        if case .time(let text)? = root.table["t"]?.content { #expect(text == "07:32:00.500000000") }
        if case .dateTime(let text)? = root.table["ldt"]?.content { #expect(text == "1979-05-27T07:32:00") }
        #expect(root.table["a"]?.array?.count == 2)
        for (key, expected) in [("i", "a string"), ("s", "an integer"), ("d", "true or false")] {
            do {
                switch expected {
                case "a string": _ = try root.string(key)
                case "an integer": _ = try root.int(key)
                default: _ = try root.bool(key)
                }
                Issue.record("\(key) read as \(expected)")
            } catch let error as AgentError {
                #expect(error.message.contains("must be \(expected), not"), "\(error.message)")
            }
        }
        #expect((try? root.string("f")) == nil)
        do { _ = try root.string("f") } catch let error as AgentError { #expect(error.message.hasSuffix("not floating-point number")) }
        do { _ = try root.string("dt") } catch let error as AgentError { #expect(error.message.hasSuffix("not date-time")) }
    }
}
