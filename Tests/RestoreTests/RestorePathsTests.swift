import AgentSupport
import Testing
import Vault

@testable import Restore

@Suite struct RestorePathsTests {
    @Test(arguments: ["../x", "a/../../b", "/etc/passwd", "", "a//b", "./a", "a/.", "..", ".offsite-restore/journal.json", "a\u{0}b"])
    func refusesPathsThatCouldLeaveTheTarget(_ path: String) {
        #expect(RestorePaths.problem(with: path) != nil)
    }

    @Test(arguments: ["a.tar", "nested/a/b.tar.zst", ".hidden", "a..b", "dir.offsite-restore/x", "backup.json"])
    func acceptsPlainRelativePaths(_ path: String) {
        #expect(RestorePaths.problem(with: path) == nil)
    }

    @Test func manifestWithAnEscapingPathIsInvalidPath() {
        let m = OffsiteManifest(
            backup: "b", host: "h",
            files: [
                .init(path: "ok.tar", key: "k1", size: 1, etag: "", checksum: .none),
                .init(path: "../../etc/cron.d/x", key: "k2", size: 1, etag: "", checksum: .none),
            ])
        #expect(throws: AgentError.self) { try RestorePaths.validate(m, vault: "v") }
        do {
            try RestorePaths.validate(m, vault: "v")
        } catch {
            #expect(error.code == .invalidPath)
            #expect(error.exitStatus == .backup)
        }
    }

    @Test func manifestNamingAPathTwiceIsInvalidPath() {
        let m = OffsiteManifest(
            backup: "b", host: "h",
            files: [
                .init(path: "a", key: "k1", size: 1, etag: "", checksum: .none), .init(path: "a", key: "k2", size: 1, etag: "", checksum: .none),
            ])
        #expect(throws: AgentError.self) { try RestorePaths.validate(m, vault: "v") }
    }

    @Test(arguments: ["", ".", "..", "a/b", "../x"])
    func backupIDNamesOneFolder(_ id: String) {
        #expect(throws: AgentError.self) { try RestorePaths.validateBackupID(id) }
    }
}
