import AgentSupport
import Config
import Foundation
import HTTPTransport
import Logging
import S3
import Synchronization
import TestSupport
import Testing

@testable import Vault

/// Log events carry swift-log metadata (vault, key, part, attempt, operation); the human line
/// keeps its documented words and does not repeat them.
@Suite struct LogMetadataTests {
    @Test func aRetryWarningCarriesVaultKeyPartAndAttempt() throws {
        let (dir, resolved) = try VaultSessionTests.vault()
        let capture = CapturingLogHandler.Events()
        let logger = CapturingLogHandler.logger(capture)
        let session = try VaultSession(vault: resolved, http: HTTPClient(), logger: logger, retryBaseDelay: 0.01)
        let op = S3Client.Operation(name: "UploadPart", method: "PUT", key: "web-01/b1/db.tar", query: [("partNumber", "3"), ("uploadId", "u")])
        let failure = S3Failure.service(
            S3ServiceError(status: 503, code: "SlowDown", message: "", requestID: "", details: [:], headers: [], operation: "UploadPart"))
        session.client.onRetry?(op, failure, 1, 0.6)
        let events = capture.all
        let event = try #require(events.first)
        #expect(event.message.hasPrefix("UploadPart 3 of web-01/b1/db.tar: attempt 1/7 failed:"))
        #expect(event.metadata["vault"] == .string("main"))
        #expect(event.metadata["key"] == .string("web-01/b1/db.tar"))
        #expect(event.metadata["part"]?.description == "3")
        #expect(event.metadata["attempt"]?.description == "1")
        #expect(event.metadata["operation"] == .string("UploadPart"))
        #expect(session.retries == 1)
        withExtendedLifetime(dir) {}
    }
}

/// The documented line stays as it was: in the text log file (and on stderr) an event with
/// metadata is `<ts> <LEVEL> <message>`, nothing appended; only the JSON format writes the fields.
@Test func theHumanLineKeepsItsDocumentedFormat() {
    let metadata: Logger.Metadata = ["vault": "main", "key": "web-01/b1/db.tar", "part": "3", "attempt": "1", "operation": "UploadPart", "rate": "5"]
    let message = "UploadPart 3 of web-01/b1/db.tar: attempt 1/5 failed: HTTP 503 SlowDown; retrying in 0.6s"
    let ts = "2026-11-26T12:00:00Z"
    #expect(AgentLogHandler.fileLine(.warning, message, metadata: metadata, at: ts, format: .text) == "\(ts) WARNING \(message)")
    let json = AgentLogHandler.fileLine(.warning, message, metadata: metadata, at: ts, format: .json)
    #expect(json.hasPrefix("{\"ts\": \"\(ts)\", \"level\": \"WARNING\", \"msg\": "))
    for key in metadata.keys { #expect(json.contains("\"\(key)\": ")) }
}
