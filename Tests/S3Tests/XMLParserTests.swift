import Testing

@testable import S3

@Test func xmlClosingTagsMustMatch() {
    #expect(XMLElement.parse("<a><b>x</b></a>")?.value("b") == "x")
    #expect(XMLElement.parse("<a><b>x</c></a>") == nil)
    #expect(XMLElement.parse("<a>x</a></a>")?.name == "a")  // what follows the root is ignored
    #expect(XMLElement.parse("</a>") == nil)
    #expect(XMLElement.parse("<s3:a xmlns:s3=\"u\"><s3:b>1</s3:b></s3:a>")?.value("b") == "1")
    #expect(XMLElement.parse("<s3:a><b>1</b></a>") == nil)
    do {
        _ = try XMLElement.decode(Array("<a><b></a>".utf8))
        Issue.record("accepted a mismatched closing tag")
    } catch {
        #expect(error.reason == "</a> closes <b>")
    }
}

@Test func xmlTruncatedDocumentsAreRefused() {
    let whole = "<?xml version=\"1.0\"?><ListPartsResult><Part><PartNumber>1</PartNumber><ETag>\"e\"</ETag></Part></ListPartsResult>"
    #expect(XMLElement.parse(whole)?.child("Part")?.value("PartNumber") == "1")
    let bytes = Array(whole.utf8)
    for cut in 0..<bytes.count {
        #expect(XMLElement.parse(Array(bytes[0..<cut])) == nil, "accepted the first \(cut) bytes")
    }
    for text in ["<a><!-- x", "<a><![CDATA[x", "<a x=\"1", "<?xml", "<", "<>", "text only", ""] {
        #expect(XMLElement.parse(text) == nil, "\(text)")
    }
}

@Test func xmlDepthAndSizeAreBounded() {
    let deep = String(repeating: "<a>", count: 300_000)
    #expect(XMLElement.parse(deep) == nil)
    let atBound = String(repeating: "<a>", count: XMLElement.maxDepth) + String(repeating: "</a>", count: XMLElement.maxDepth)
    #expect(XMLElement.parse(atBound) != nil)
    let beyond = "<r>" + atBound + "</r>"
    #expect(XMLElement.parse(beyond) == nil)
    let many = "<r>" + String(repeating: "<e/>", count: XMLElement.maxElements) + "</r>"
    #expect(XMLElement.parse(many) == nil)
    let fine = "<r>" + String(repeating: "<e/>", count: 10_000) + "</r>"
    #expect(XMLElement.parse(fine)?.children.count == 10_000)
}

@Test func xmlHostileEntitiesAndBytes() {
    #expect(XMLElement.parse("<a>&#x110000;&#99999999999999999999;&#xD800;&bogus;&</a>")?.text == "&#x110000;&#99999999999999999999;&#xD800;&bogus;&")
    #expect(XMLElement.parse([0x3C, 0x61, 0x3E, 0xFF, 0xFE, 0x3C, 0x2F, 0x61, 0x3E])?.text == "\u{FFFD}\u{FFFD}")
    #expect(XMLElement.parse("<a b='>' c=\"<\">x</a>")?.text == "x")
}
