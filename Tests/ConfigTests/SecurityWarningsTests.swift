import AgentSupport
import Config
import Foundation
import TestSupport
import Testing

/// What `config check` warns about without refusing the config.
struct SecurityWarningsTests {
    func chmod(_ path: String, _ mode: Int) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    @Test func configReadableByOthersIsWarnedAndPrivateConfigIsNot() throws {
        let fixture = try ConfigFixture(r2Vault)
        try chmod(fixture.path, 0o644)
        let warnings = try fixture.load().securityWarnings()
        #expect(warnings.map(\.code) == [.readableByOthers])
        #expect(warnings.first?.message.contains(fixture.path) == true && warnings.first?.message.contains("644") == true)
        #expect(warnings.first?.hint == "chmod 600 \(fixture.path) (owned by the user the agent runs as)")
        try chmod(fixture.path, 0o600)
        #expect(try fixture.load().securityWarnings().isEmpty)
    }

    @Test func secretFileReadableByGroupIsWarned() throws {
        let dir = try TemporaryDirectory()
        let secret = try dir.write("primary.secret", "s3cr3t\n")
        try chmod(secret, 0o640)
        let fixture = try ConfigFixture(
            """
            [vaults.primary]
            provider = "minio"
            endpoint = "https://minio.example.net"
            bucket = "b"
            access_key_id = "AKIAEXAMPLE1234"
            secret_access_key_file = "\(secret)"
            """)
        try chmod(fixture.path, 0o600)
        let warnings = try fixture.load().securityWarnings()
        #expect(warnings.count == 1)
        #expect(warnings.first?.message.contains("secret_access_key_file \(secret)") == true)
    }

    @Test(arguments: [
        ("http://minio.internal:9000", true), ("http://10.0.0.5", true), ("HTTP://backup.example.com/", true),
        ("http://127.0.0.1:9000", false), ("http://localhost:9000", false), ("http://[::1]:9000", false), ("https://minio.internal", false),
    ])
    func plainHTTPIsWarnedOnlyBeyondThisMachine(endpoint: String, warned: Bool) throws {
        let fixture = try ConfigFixture(
            """
            [vaults.primary]
            provider = "minio"
            endpoint = "\(endpoint)"
            bucket = "b"
            access_key_id = "AKIAEXAMPLE1234"
            secret_access_key = "SuperSecretValue42"
            """)
        try chmod(fixture.path, 0o600)
        let codes = try fixture.load().securityWarnings().map(\.code)
        #expect(codes == (warned ? [.plainHTTP] : []))
    }
}
