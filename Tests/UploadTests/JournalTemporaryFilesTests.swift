import Foundation
import Testing

@testable import Upload

@Suite struct JournalTemporaryFilesTests {
    @Test func aKilledWritersTemporaryFileIsRemovedAndALiveOnesIsKept() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("journal-tmp-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let journal = Journal(stateDir: dir)
        try FileManager.default.createDirectory(atPath: journal.directory, withIntermediateDirectories: true)
        let orphan = "\(journal.directory)/abc.json.tmp.2147483646"  // no such process
        let live = "\(journal.directory)/def.json.tmp.\(getpid())"
        for path in [orphan, live] { try "{\"file_key\": \"k\"}".write(toFile: path, atomically: false, encoding: .utf8) }
        journal.prune(olderThan: 30 * 86400, now: 0)
        #expect(!FileManager.default.fileExists(atPath: orphan))
        #expect(FileManager.default.fileExists(atPath: live))
    }
}
