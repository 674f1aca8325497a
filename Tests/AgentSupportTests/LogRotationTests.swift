import AgentSupport
import Foundation
import Logging
import TestSupport
import Testing

/// The log file under state_dir: one timestamped line per event, rotated by size. Serialized: the
/// log file is the process's one shared descriptor.
@Suite(.serialized) struct LogRotationTests {
    @Test func logIsRotatedPastItsSizeKeepingThreeOldFiles() throws {
        let dir = try TemporaryDirectory()
        AgentLogHandler.quietStderr = true
        AgentLogHandler.rotateBytes = 1000
        AgentLogHandler.openLogFile(stateDir: dir.path)
        defer {
            close(AgentLogHandler.fileDescriptor)
            AgentLogHandler.fileDescriptor = -1
            AgentLogHandler.rotateBytes = 10 << 20
        }
        let logger = Logger(label: "test") { AgentLogHandler(label: $0) }
        let line = String(repeating: "x", count: 90)
        for n in 0..<60 {
            logger.info("\(n) \(line)")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("agent.log") && !$0.hasSuffix(".lock") }.sorted()
        #expect(names == ["agent.log", "agent.log.1", "agent.log.2", "agent.log.3"])
        for name in names {
            let size = try FileManager.default.attributesOfItem(atPath: dir.path + "/" + name)[.size] as? Int ?? 0
            #expect(size <= 1000 + 200)
        }
        // The newest event is in agent.log, and each line starts with a UTC timestamp.
        let current = try String(contentsOfFile: dir.path + "/agent.log", encoding: .utf8)
        #expect(current.contains("59 \(line)"))
        for entry in current.split(separator: "\n") {
            #expect(entry.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO "#, options: .regularExpression) != nil)
        }
    }

    /// `log_format = "json"`: every line of the file parses as a JSON object; stderr's line is unchanged.
    @Test func theJSONLogFileHoldsOneObjectPerLine() throws {
        let dir = try TemporaryDirectory()
        AgentLogHandler.quietStderr = true
        AgentLogHandler.openLogFile(stateDir: dir.path, format: .json)
        defer {
            close(AgentLogHandler.fileDescriptor)
            AgentLogHandler.fileDescriptor = -1
            AgentLogHandler.fileFormat = .text
        }
        var logger = Logger(label: "test") { AgentLogHandler(label: $0) }
        logger[metadataKey: "vault"] = "main"
        logger.info("uploaded a.tar -> p/b1/a.tar", metadata: ["key": "p/b1/a.tar", "path": "a.tar"])
        logger.warning("line\nbreak \"quoted\"", metadata: ["part": .stringConvertible(2)])
        AgentLogHandler.record(.error, "CONNECTION_REFUSED: refused; hint: check", metadata: ["code": "CONNECTION_REFUSED"])
        let lines = try String(contentsOfFile: dir.path + "/agent.log", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        let objects = try lines.map { try JSON.decode($0) }
        #expect(objects.map { $0["level"]?.stringValue } == ["INFO", "WARNING", "ERROR"])
        #expect(objects[0]["vault"]?.stringValue == "main" && objects[0]["key"]?.stringValue == "p/b1/a.tar")
        #expect(objects[1]["msg"]?.stringValue == "line\nbreak \"quoted\"" && objects[1]["part"] == .int(2))
        #expect(objects[2]["code"]?.stringValue == "CONNECTION_REFUSED")
        for o in objects { #expect(o["ts"]?.stringValue?.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"#, options: .regularExpression) != nil) }
    }
}
