import Testing

@testable import HTTPTransport

/// Response header lines as libcurl hands them over (one per call, CR LF included): what is kept.
struct ResponseHeaderParserTests {
    static func parse(_ lines: [String]) -> ResponseHeaderParser {
        var parser = ResponseHeaderParser()
        for line in lines { parser.consume(Array(line.utf8)) }
        return parser
    }

    static func pairs(_ parser: ResponseHeaderParser) -> [String] { parser.headers.map { "\($0.name)=\($0.value)" } }

    @Test func statusLineNamesAndValuesAreRead() {
        let parser = Self.parse(["HTTP/1.1 200 OK\r\n", "ETag: \"abc\"\r\n", "x-amz-request-id:\tR1 \r\n", "Empty:\r\n", "\r\n"])
        #expect(Self.pairs(parser) == ["ETag=\"abc\"", "x-amz-request-id=R1", "Empty="])
        #expect(parser.dropped == 0)
    }

    @Test func aNewStatusLineStartsOver() {
        let parser = Self.parse(["HTTP/1.1 100 Continue\r\n", "X-Early: 1\r\n", "\r\n", "HTTP/1.1 500 Internal\r\n", "Retry-After: 3\r\n", "\r\n"])
        #expect(Self.pairs(parser) == ["Retry-After=3"])
    }

    @Test func aFoldedLineContinuesThePreviousValue() {
        let parser = Self.parse(["HTTP/1.1 200 OK\r\n", "X-Long: first\r\n", "  second\r\n", "\tthird \r\n", "Next: n\r\n"])
        #expect(Self.pairs(parser) == ["X-Long=first second third", "Next=n"])
        // Before any header, or after a dropped line, a folded line belongs to nothing.
        let orphan = Self.parse(["HTTP/1.1 200 OK\r\n", " orphan\r\n", "bad line\r\n", " after-bad\r\n", "A: 1\r\n"])
        #expect(Self.pairs(orphan) == ["A=1"])
        #expect(orphan.dropped == 3)
    }

    @Test func malformedNamesAreDropped() {
        let parser = Self.parse(["HTTP/1.1 200 OK\r\n", ": no name\r\n", "Space Name: x\r\n", "Name : x\r\n", "Ctl\u{1}: x\r\n", "Ok-Name: v: w\r\n", "no colon\r\n"])
        #expect(Self.pairs(parser) == ["Ok-Name=v: w"])
        #expect(parser.dropped == 5)
    }

    @Test func bytesThatAreNotUTF8AreReplacedNotFatal() {
        var parser = ResponseHeaderParser()
        parser.consume(Array("X-Meta: ".utf8) + [0xFF, 0xC3, 0x28, 0x00, 0x41] + Array("\r\n".utf8))
        parser.consume([0xFF, 0x3A, 0x20, 0x41, 0x0D, 0x0A])  // a non-token byte in the name: dropped
        #expect(parser.headers.count == 1)
        #expect(parser.headers[0].name == "X-Meta")
        #expect(parser.headers[0].value == "\u{FFFD}\u{FFFD}(\u{0}A")
        #expect(parser.dropped == 1)
    }

    @Test func severalLinesInOneCallAreEachRead() {
        let parser = Self.parse(["HTTP/1.1 200 OK\r\nA: 1\nB: 2\r\n\r\n"])
        #expect(Self.pairs(parser) == ["A=1", "B=2"])
    }

    @Test func keptHeadersAreBounded() {
        var lines = ["HTTP/1.1 200 OK\r\n"]
        for i in 0..<(ResponseHeaderParser.maxHeaders + 50) { lines.append("X-\(i): v\r\n") }
        let many = Self.parse(lines)
        #expect(many.headers.count == ResponseHeaderParser.maxHeaders)
        #expect(many.dropped == 50)

        let big = String(repeating: "v", count: 100 << 10)
        let huge = Self.parse(["HTTP/1.1 200 OK\r\n", "A: \(big)\r\n", "B: \(big)\r\n", " \(big)\r\n", "C: small\r\n"])
        #expect(Self.pairs(huge).map { String($0.prefix(2)) } == ["A=", "C="])
        #expect(huge.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count } <= ResponseHeaderParser.maxBytes)
        let folded = Self.parse(["HTTP/1.1 200 OK\r\n", "A: \(big)\r\n", " \(big)\r\n", " more\r\n"])
        #expect(folded.headers.count == 1 && folded.headers[0].value.utf8.count == big.utf8.count)
    }
}
