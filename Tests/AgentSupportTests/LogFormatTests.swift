import AgentSupport
import Logging
import TestSupport
import Testing

/// `log_format = "json"`: each agent.log line is one JSON object with `ts`, `level`, `msg` and
/// every metadata key as a field (issue 13 item 9).
struct LogFormatTests {
    static let ts = "2026-11-26T03:15:02Z"

    static func object(_ line: String) throws -> [(String, JSON)] {
        #expect(!line.contains("\n"))
        return try #require(try JSON.decode(line).objectValue)
    }

    @Test func aJSONLineHoldsTimeLevelMessageAndEachMetadataKey() throws {
        let line = AgentLogHandler.fileLine(
            .warning, "UploadPart 3 of web-01/b1/db.tar: attempt 1/5 failed",
            metadata: ["vault": "main", "key": "web-01/b1/db.tar", "part": .stringConvertible(3), "attempt": .stringConvertible(1), "operation": "UploadPart"],
            at: Self.ts, format: .json)
        let fields = try Self.object(line)
        // Fixed fields first, then the metadata keys in sorted order.
        #expect(fields.map(\.0) == ["ts", "level", "msg", "attempt", "key", "operation", "part", "vault"])
        let json = JSON.object(fields)
        #expect(json["ts"]?.stringValue == Self.ts)
        #expect(json["level"]?.stringValue == "WARNING")
        #expect(json["msg"]?.stringValue == "UploadPart 3 of web-01/b1/db.tar: attempt 1/5 failed")
        #expect(json["vault"]?.stringValue == "main")
        #expect(json["key"]?.stringValue == "web-01/b1/db.tar")
        // Numbers given as numbers stay numbers; strings stay strings.
        #expect(json["part"] == .int(3))
        #expect(json["attempt"] == .int(1))
        #expect(json["operation"]?.stringValue == "UploadPart")
    }

    @Test func messageAndValuesAreEscapedSoEachEventStaysOneLine() throws {
        let hostile = "quote \" backslash \\ newline \n tab \t bell \u{07} nul \u{0} é ☃ 😀"
        let line = AgentLogHandler.fileLine(.error, hostile, metadata: ["path": .string(hostile), hostile: "key too"], at: Self.ts, format: .json)
        #expect(!line.contains("\n") && !line.contains("\t") && !line.contains("\u{07}") && !line.contains("\u{0}"))
        #expect(line.contains(#"quote \" backslash \\ newline \n tab \t bell \u0007 nul \u0000 é ☃ 😀"#))
        let json = JSON.object(try Self.object(line))
        #expect(json["msg"]?.stringValue == hostile)
        #expect(json["path"]?.stringValue == hostile)
        #expect(json[hostile]?.stringValue == "key too")
    }

    @Test func metadataNamedTsLevelOrMsgCannotReplaceTheFixedFields() throws {
        let line = AgentLogHandler.fileLine(
            .info, "uploaded a.tar", metadata: ["ts": "forged", "level": "CRITICAL", "msg": "other", "meta_msg": "taken", "key": "k"], at: Self.ts, format: .json)
        let fields = try Self.object(line)
        let names = fields.map(\.0)
        #expect(Set(names).count == names.count, "duplicate field names: \(names)")
        let json = JSON.object(fields)
        #expect(json["ts"]?.stringValue == Self.ts)
        #expect(json["level"]?.stringValue == "INFO")
        #expect(json["msg"]?.stringValue == "uploaded a.tar")
        #expect(json["meta_ts"]?.stringValue == "forged")
        #expect(json["meta_level"]?.stringValue == "CRITICAL")
        // `meta_msg` is the metadata's own key; the renamed `msg` moves one step further.
        #expect(json["meta_msg"]?.stringValue == "taken")
        #expect(json["meta_meta_msg"]?.stringValue == "other")
        #expect(json["key"]?.stringValue == "k")
    }

    @Test func valuesKeepTheirShape() {
        #expect(AgentLogHandler.json(.stringConvertible(Int64(1) << 40)) == .int(1 << 40))
        #expect(AgentLogHandler.json(.stringConvertible(2.5)) == .double(2.5))
        #expect(AgentLogHandler.json(.stringConvertible(Double.nan)) == .string("nan"))
        #expect(AgentLogHandler.json(.stringConvertible(true)) == .bool(true))
        #expect(AgentLogHandler.json(.string("3")) == .string("3"))
        #expect(AgentLogHandler.json(.array(["a", .stringConvertible(1)])) == .array([.string("a"), .int(1)]))
        #expect(AgentLogHandler.json(.dictionary(["b": "2", "a": "1"])) == .object([("a", .string("1")), ("b", .string("2"))]))
    }

    @Test func theTextLineIsTimeLevelAndTheMessageAlone() {
        let line = AgentLogHandler.fileLine(.info, "Transferred: 1 files", metadata: ["files": .stringConvertible(1), "vault": "main"], at: Self.ts, format: .text)
        #expect(line == "\(Self.ts) INFO Transferred: 1 files")
    }

    /// The many-files summary carries its counts as numbers (files, bytes, seconds, total_files),
    /// and a per-file line the file's own fields.
    @Test func manyFilesLinesCarryCountsAndFileFields() throws {
        let capture = CapturingLogHandler.Events()
        var logger = CapturingLogHandler.logger(capture)
        logger[metadataKey: "vault"] = "main"
        var few = ManyFilesLog(verb: "uploaded", total: 2, logger: logger)
        few.add(bytes: 10, detail: "a.tar -> p/b1/a.tar (10 B, 1 request)", metadata: ["key": "p/b1/a.tar", "path": "a.tar"])
        var many = ManyFilesLog(verb: "uploaded", total: 25, logger: logger)
        for _ in 0..<25 { many.add(bytes: 4, detail: "x") }
        many.finish()
        let events = capture.all
        #expect(events.count == 2)
        let (perFile, summary) = (events[0], events[1])
        #expect(perFile.message == "uploaded a.tar -> p/b1/a.tar (10 B, 1 request)")
        #expect(perFile.metadata["key"] == "p/b1/a.tar" && perFile.metadata["path"] == "a.tar" && perFile.metadata["vault"] == "main")
        #expect(perFile.metadata["bytes"]?.description == "10")
        #expect(summary.message.hasPrefix("uploaded 25 of 25 small files ("))
        let json = JSON.object(try Self.object(AgentLogHandler.fileLine(.info, summary.message, metadata: summary.metadata, at: Self.ts, format: .json)))
        #expect(json["files"] == .int(25) && json["total_files"] == .int(25) && json["bytes"] == .int(100))
        #expect(json["seconds"]?.doubleValue != nil && json["vault"]?.stringValue == "main")
    }
}
