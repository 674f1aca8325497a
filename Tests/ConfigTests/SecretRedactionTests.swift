import AgentSupport
import Config
import Testing

/// No error message or hint ever carries a secret, whatever is wrong with the config.
struct SecretRedactionTests {
    static let secret = "SuperSecretValue42"

    @Test(arguments: [
        r2Vault + "\nregion = \"us-east-1\"\n",
        r2Vault.replacingOccurrences(of: "\"r2\"", with: "\"r3\""),
        r2Vault.replacingOccurrences(of: "account_id = \"0123abcd\"\n", with: ""),
        r2Vault.replacingOccurrences(of: "bucket = \"acme-backups\"\n", with: ""),
        r2Vault + "\nsecret_access_key_env = \"X\"\n",
        r2Vault + "\ncredentials = \"instance\"\n",
        r2Vault + "\npart_size = \"SuperSecretValue42\"\n".replacingOccurrences(of: "SuperSecretValue42", with: "1MiB"),
        r2Vault.replacingOccurrences(of: "secret_access_key = \"SuperSecretValue42\"", with: "secret_access_key = [\"SuperSecretValue42\"]"),
        r2Vault.replacingOccurrences(of: "secret_access_key = \"SuperSecretValue42\"", with: "secret_access_key = \"SuperSecretValue42"),
        r2Vault.replacingOccurrences(of: "secret_access_key = \"SuperSecretValue42\"", with: "secret_access_key = SuperSecretValue42"),
        r2Vault.replacingOccurrences(of: "access_key_id = \"AKIAEXAMPLE1234\"", with: "access_key_id = \"AKIA SuperSecretValue42\""),
    ])
    func errorMessagesNeverContainTheSecret(text: String) throws {
        let error = agentError {
            let config = try ConfigFixture(text).load()
            try config.validateDefaults()
            _ = try config.vault(named: "primary")
        }
        #expect(error != nil)
        #expect(error?.message.contains(Self.secret) == false, "\(error?.message ?? "")")
        #expect(error?.hint.contains(Self.secret) == false)
    }

    @Test func secretFileContentNeverAppearsInErrors() throws {
        let fixture = try ConfigFixture("")
        let file = try fixture.dir.write("s", "SuperSecretValue42\n")
        try (r2Vault.replacingOccurrences(of: "secret_access_key = \"SuperSecretValue42\"", with: "secret_access_key_file = \"\(file)\"") + "\nregion = \"eu\"\n")
            .write(toFile: fixture.path, atomically: true, encoding: .utf8)
        let error = agentError { _ = try fixture.load().vault(named: "primary") }
        #expect(error?.message.contains(Self.secret) == false)
    }

    @Test func credentialsDescribeThemselvesRedacted() throws {
        let credentials = try ConfigFixture(r2Vault).load().vault(named: "primary").credentials
        let text = "\(credentials)"
        #expect(!text.contains(Self.secret))
        #expect(!text.contains("AKIAEXAMPLE1234"))
        #expect(text.contains("1234"))
    }
}
