import AgentSupport
import Config
import HTTPTransport
import Logging
import TestSupport
import Testing

@testable import Restore
@testable import S3
@testable import Upload
@testable import Vault

/// A walk through the engines' events as they log them: each carries the metadata that says what
/// it is about, and each survives the JSON log format as fields (issue 13 item 9).
@Suite struct EngineLogMetadataTests {
    @Test func eachEngineEventCarriesTheFieldsThatSayWhatItIsAbout() throws {
        let capture = CapturingLogHandler.Events()
        let (dir, resolved) = try VaultSessionTests.vault()
        let session = try VaultSession(vault: resolved, http: HTTPClient(), logger: CapturingLogHandler.logger(capture), retryBaseDelay: 0.01)
        let logger = session.logger
        let key = "web-01/b1/db.tar"

        // Retries and stalls of a request (the session's own events).
        let part = S3Client.Operation(name: "UploadPart", method: "PUT", key: key, query: [("partNumber", "3"), ("uploadId", "u")])
        let slow = S3Failure.service(S3ServiceError(status: 503, code: "SlowDown", message: "", requestID: "", details: [:], headers: [], operation: "UploadPart"))
        session.client.onRetry?(part, slow, 1, 0.5)
        session.client.onRetry?(part, .transport(TransportError(kind: .stalled, curlCode: 28, message: "under 1 KiB/s for 30 s")), 2, 0)
        // A file done, the backup's summary, a small-files summary (as the upload engine logs them).
        logger.info("uploaded db.tar -> \(key) (1 MiB, 1 request)", metadata: ["key": .string(key), "path": "db.tar", "backup": "b1"])
        logger.info("Transferred: 1 files", metadata: Units.transferredMetadata(files: 1, bytes: 1 << 20, seconds: 0.25, rate: 4 << 20))
        var many = ManyFilesLog(verb: "uploaded", total: 21, logger: logger)
        for _ in 0..<21 { many.add(bytes: 1, detail: "-") }
        many.finish()
        // Object Lock and prune.
        logger.info("retention set", metadata: ObjectLockPolicy.retentionMetadata(key, ObjectRetention(mode: "GOVERNANCE", retainUntilText: "2026-12-26T00:00:00Z")))
        let backup = OffsiteBackup(id: "b1", manifest: nil, objects: [S3Object(key: key, size: 7, etag: "e", lastModified: "2026-11-26T00:00:00Z")])
        logger.info("prune: deleted backup b1", metadata: Pruner.deletedMetadata(backup))

        let events = capture.all
        let expected: [(String, Set<String>)] = [
            ("UploadPart 3 of \(key): attempt 1/", ["vault", "operation", "key", "part", "attempt"]),
            ("UploadPart 3 of \(key) stalled", ["vault", "operation", "key", "part", "attempt"]),
            ("uploaded db.tar", ["vault", "key", "path", "backup"]),
            ("Transferred:", ["vault", "files", "bytes", "seconds", "rate"]),
            ("uploaded 21 of 21 small files", ["vault", "files", "bytes", "seconds", "total_files"]),
            ("retention set", ["vault", "operation", "key", "mode", "retain_until"]),
            ("prune: deleted backup b1", ["vault", "operation", "backup", "bytes", "files"]),
        ]
        #expect(events.count == expected.count, "\(events.map(\.message))")
        for (event, (prefix, keys)) in zip(events, expected) {
            #expect(event.message.hasPrefix(prefix), "\(event.message)")
            #expect(keys.isSubset(of: Set(event.metadata.keys)), "\(prefix): \(event.metadata.keys.sorted()) lacks \(keys.subtracting(event.metadata.keys).sorted())")
            // In the JSON log every key is a field of its own, and the message is `msg` unchanged.
            let line = AgentLogHandler.fileLine(event.level, event.message, metadata: event.metadata, at: "2026-11-26T00:00:00Z", format: .json)
            let json = try JSON.decode(line)
            #expect(json["msg"]?.stringValue == event.message)
            for k in keys { #expect(json[k] != nil && json[k] != .null, "\(prefix): \(k)") }
            #expect(json["vault"]?.stringValue == "main")
            // The secret never reaches the log.
            #expect(!line.contains("SuperSecretValue42") && !line.contains("AKIAEXAMPLE1234"))
        }
        let first = try JSON.decode(AgentLogHandler.fileLine(.warning, events[0].message, metadata: events[0].metadata, at: "t", format: .json))
        #expect(first["part"] == .int(3) && first["attempt"] == .int(1) && first["key"]?.stringValue == key)
        let pruned = try JSON.decode(AgentLogHandler.fileLine(.info, events[6].message, metadata: events[6].metadata, at: "t", format: .json))
        #expect(pruned["bytes"] == .int(7) && pruned["files"] == .int(1) && pruned["backup"]?.stringValue == "b1")
        withExtendedLifetime(dir) {}
    }
}
