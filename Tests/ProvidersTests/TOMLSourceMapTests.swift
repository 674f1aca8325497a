import Testing

@testable import Providers

struct TOMLSourceMapTests {
    @Test func findsTablesKeysAndDottedKeys() {
        let map = TOMLSourceMap(
            text: """
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
                """)
        #expect(map.line(of: ["name"]) == 2)
        #expect(map.line(of: ["list"]) == 3)
        #expect(map.line(of: ["a"]) == nil)
        #expect(map.line(of: ["fake"]) == nil)
        #expect(map.line(of: ["text"]) == 7)
        #expect(map.line(of: ["vaults", "zeta"]) == 10)
        #expect(map.line(of: ["vaults", "zeta", "bucket"]) == 11)
        #expect(map.line(of: ["vaults", "zeta", "missing"]) == 10)
        #expect(map.line(of: ["vaults", "alpha beta", "a", "b"]) == 13)
        #expect(map.line(of: ["vaults", "alpha beta", "s3:PutObject"]) == 14)
        #expect(map.firstLine(under: ["vaults"]) == 10)
    }
}
