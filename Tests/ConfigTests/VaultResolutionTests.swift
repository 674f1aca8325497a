import AgentSupport
import Config
import Foundation
import TestSupport
import Testing

/// What `AgentConfig.vault(named:)` checks and fills in.
struct VaultResolutionTests {
    @Test func r2VaultResolves() throws {
        let vault = try ConfigFixture(r2Vault + "\nprefix = \"web-01\"\n").load().vault(named: "primary")
        #expect(vault.name == "primary" && vault.bucket == "acme-backups")
        #expect(vault.profile.name == "r2")
        #expect(vault.endpoint == "https://0123abcd.r2.cloudflarestorage.com")
        #expect(vault.region == "auto")
        #expect(vault.pathStyle == (vault.profile.addressing == .path))
        #expect(vault.prefix == "web-01/")
        #expect(vault.credentials.accessKeyID == "AKIAEXAMPLE1234")
        #expect(vault.credentials.secretAccessKey == "SuperSecretValue42")
        #expect(vault.credentials.source == "config")
        #expect(vault.credentials.redactedAccessKeyID == "****1234")
    }

    @Test func unknownProviderIsInvalidAndListsTheKnownOnes() throws {
        let fixture = try ConfigFixture(r2Vault.replacingOccurrences(of: "\"r2\"", with: "\"r3\""))
        let error = agentError { _ = try fixture.load().vault(named: "primary") }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("`r3`") == true)
        #expect(error?.message.contains("r2") == true && error?.message.contains("aws") == true)
        #expect(error?.message.contains("\(fixture.path):\(try fixture.line(of: "provider"))") == true)
    }

    @Test func missingBucketIsInvalid() throws {
        let error = agentError { _ = try ConfigFixture(r2Vault.replacingOccurrences(of: "bucket = \"acme-backups\"\n", with: "")).load().vault(named: "primary") }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("bucket") == true)
    }

    @Test func missingCredentialsAreInvalid() throws {
        let noKeys = r2Vault.split(separator: "\n").filter { !$0.hasPrefix("access_key_id") && !$0.hasPrefix("secret_access_key") }.joined(separator: "\n")
        let error = agentError { _ = try ConfigFixture(noKeys).load().vault(named: "primary") }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("access key id") == true)
        #expect(error?.hint.contains("AWS_ACCESS_KEY_ID") == true)

        let noSecret = r2Vault.split(separator: "\n").filter { !$0.hasPrefix("secret_access_key") }.joined(separator: "\n")
        let secretError = agentError { _ = try ConfigFixture(noSecret).load().vault(named: "primary") }
        #expect(secretError?.code == .invalidConfig)
        #expect(secretError?.message.contains("secret access key") == true)
    }

    @Test func unreadableSecretFileIsNamedButNeverRead() throws {
        let dir = try TemporaryDirectory()
        for path in [dir.path + "/missing.secret", dir.path] {
            let text = r2Vault.replacingOccurrences(of: "secret_access_key = \"SuperSecretValue42\"", with: "secret_access_key_file = \"\(path)\"")
            let error = agentError { _ = try ConfigFixture(text).load().vault(named: "primary") }
            #expect(error?.code == .invalidConfig)
            #expect(error?.message.contains(path) == true)
        }
    }

    @Test func secretFromFileLosesOneTrailingNewline() throws {
        let fixture = try ConfigFixture("")
        for (content, expected) in [("s3cr3t\n", "s3cr3t"), ("s3cr3t", "s3cr3t"), ("s3cr3t\r\n", "s3cr3t"), ("s3cr3t\n\n", "s3cr3t\n")] {
            let secret = try fixture.dir.write("primary.secret", content)
            try r2Vault.replacingOccurrences(of: "secret_access_key = \"SuperSecretValue42\"", with: "secret_access_key_file = \"\(secret)\"")
                .write(toFile: fixture.path, atomically: true, encoding: .utf8)
            let credentials = try fixture.load().vault(named: "primary").credentials
            #expect(credentials.secretAccessKey == expected)
            #expect(credentials.source == "config + file \(secret)")
        }
    }

    @Test func emptySecretFileIsInvalid() throws {
        let fixture = try ConfigFixture("")
        let secret = try fixture.dir.write("empty.secret", "\n")
        try r2Vault.replacingOccurrences(of: "secret_access_key = \"SuperSecretValue42\"", with: "secret_access_key_file = \"\(secret)\"")
            .write(toFile: fixture.path, atomically: true, encoding: .utf8)
        let error = agentError { _ = try fixture.load().vault(named: "primary") }
        #expect(error?.code == .invalidConfig && error?.message.contains("empty") == true)
    }

    @Test func secretAndTokenFromNamedEnvironmentVariables() throws {
        let text = r2Vault.replacingOccurrences(
            of: "secret_access_key = \"SuperSecretValue42\"", with: "secret_access_key_env = \"PRIMARY_SECRET\"\nsession_token_env = \"PRIMARY_TOKEN\"")
        let fixture = try ConfigFixture(text)
        let credentials = try fixture.load(environment: ["PRIMARY_SECRET": "fromenv", "PRIMARY_TOKEN": "tok"]).vault(named: "primary").credentials
        #expect(credentials.secretAccessKey == "fromenv" && credentials.sessionToken == "tok")
        #expect(credentials.source == "config + env PRIMARY_SECRET")

        let error = agentError { _ = try fixture.load(environment: [:]).vault(named: "primary") }
        #expect(error?.code == .invalidConfig && error?.message.contains("PRIMARY_SECRET") == true)
    }

    @Test func awsEnvironmentFillsMissingCredentials() throws {
        let noKeys = r2Vault.split(separator: "\n").filter { !$0.hasPrefix("access_key_id") && !$0.hasPrefix("secret_access_key") }.joined(separator: "\n")
        let env = ["AWS_ACCESS_KEY_ID": "AKIAFROMENV9876", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken"]
        let credentials = try ConfigFixture(noKeys).load(environment: env).vault(named: "primary").credentials
        #expect(credentials.accessKeyID == "AKIAFROMENV9876" && credentials.secretAccessKey == "envsecret" && credentials.sessionToken == "envtoken")
        #expect(credentials.source == "env AWS_*")
    }

    @Test func awsEnvironmentNeverOverridesOrMixesATokenIntoConfiguredKeys() throws {
        let env = ["AWS_ACCESS_KEY_ID": "AKIAFROMENV9876", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken"]
        let credentials = try ConfigFixture(r2Vault).load(environment: env).vault(named: "primary").credentials
        #expect(credentials.accessKeyID == "AKIAEXAMPLE1234" && credentials.secretAccessKey == "SuperSecretValue42")
        #expect(credentials.sessionToken == nil)
    }

    @Test func sharedCredentialsProfileIsRead() throws {
        let fixture = try ConfigFixture("")
        let file = try fixture.dir.write(
            "credentials",
            """
            [default]
            aws_access_key_id = AKIADEFAULT0000
            aws_secret_access_key = defaultsecret

            # the backup key
            [backup]
            aws_access_key_id = AKIABACKUP5678
            aws_secret_access_key = backupsecret
            aws_session_token = backuptoken
            """)
        let text = "[vaults.primary]\nprovider = \"aws\"\nbucket = \"b\"\ncredentials = \"profile:backup\"\n"
        try text.write(toFile: fixture.path, atomically: true, encoding: .utf8)
        let credentials = try fixture.load(environment: ["AWS_SHARED_CREDENTIALS_FILE": file]).vault(named: "primary").credentials
        #expect(credentials.accessKeyID == "AKIABACKUP5678" && credentials.secretAccessKey == "backupsecret" && credentials.sessionToken == "backuptoken")
        #expect(credentials.source == "profile:backup")

        try text.replacingOccurrences(of: "profile:backup", with: "profile:nope").write(toFile: fixture.path, atomically: true, encoding: .utf8)
        let error = agentError { _ = try fixture.load(environment: ["AWS_SHARED_CREDENTIALS_FILE": file]).vault(named: "primary") }
        #expect(error?.code == .invalidConfig && error?.message.contains("[nope]") == true && error?.message.contains(file) == true)

        let home = try TemporaryDirectory()
        let missing = agentError { _ = try fixture.load(environment: ["HOME": home.path]).vault(named: "primary") }
        #expect(missing?.message.contains(home.path + "/.aws/credentials") == true)
    }

    @Test func instanceCredentialsWithoutAMetadataServiceNameTheAlternatives() throws {
        let fixture = try ConfigFixture("[vaults.primary]\nprovider = \"aws\"\nbucket = \"b\"\ncredentials = \"instance\"\n")
        // Port 9 (discard) on loopback: nothing answers, as off EC2.
        let config = try fixture.load(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9"])
        let error = agentError { _ = try config.vault(named: "primary") }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("vault `primary`") == true && error?.message.contains("metadata service at http://127.0.0.1:9") == true)
        #expect(error?.hint.contains("profile:NAME") == true)
    }

    @Test func credentialsCannotBeCombinedWithKeys() throws {
        let error = agentError { _ = try ConfigFixture(r2Vault + "\ncredentials = \"profile:x\"\n").load() }
        #expect(error?.code == .invalidConfig && error?.message.contains("credentials") == true)
    }

    @Test func unknownVaultIsInvalidAndListsTheVaults() throws {
        let error = agentError { _ = try ConfigFixture(r2Vault).load().vault(named: "offsite-2") }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("offsite-2") == true && error?.message.contains("primary") == true)
    }

    @Test func defaultVaultNamingNothingFailsOnlyWhenUsed() throws {
        let config = try ConfigFixture("default_vault = \"ghost\"\n" + r2Vault).load()
        #expect(try config.vault(named: "primary").name == "primary")
        let error = agentError { _ = try config.vault(named: nil) }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("default_vault") == true && error?.message.contains("ghost") == true)
        #expect(agentError { try config.validateDefaults() }?.code == .invalidConfig)
        #expect(agentError { _ = try config.vaults(named: []) }?.code == .invalidConfig)
    }

    @Test func noVaultNamedAndNoDefaultIsMissingConfig() throws {
        let config = try ConfigFixture(r2Vault).load()
        #expect(agentError { _ = try config.vault(named: nil) }?.code == .missingConfig)
        #expect(agentError { _ = try config.vaults(named: []) }?.code == .missingConfig)
        #expect(agentError { _ = try ConfigFixture("").load().vault(named: nil) }?.code == .missingConfig)
    }

    @Test func defaultVaultsNameTheSetABareUploadUses() throws {
        let second = "\n[vaults.second]\nprovider = \"aws\"\nbucket = \"b2\"\naccess_key_id = \"AKIA2\"\nsecret_access_key = \"x\"\n"
        let config = try ConfigFixture("default_vaults = [\"second\", \"primary\", \"second\"]\n" + r2Vault + second).load()
        #expect(try config.vaults(named: []).map(\.name) == ["second", "primary"])
        #expect(try config.vaults(named: ["primary"]).map(\.name) == ["primary"])
        #expect(try config.vault(named: nil).name == "second")
        let withDefault = try ConfigFixture("default_vault = \"primary\"\n" + r2Vault + second).load()
        #expect(try withDefault.vaults(named: []).map(\.name) == ["primary"])
    }

    @Test func regionOutsideTheProfilesRegionsIsInvalid() throws {
        let fixture = try ConfigFixture(r2Vault + "\nregion = \"us-east-1\"\n")
        let error = agentError { _ = try fixture.load().vault(named: "primary") }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("us-east-1") == true && error?.message.contains("auto") == true)
    }

    @Test func r2WithoutAccountIDIsInvalid() throws {
        let error = agentError { _ = try ConfigFixture(r2Vault.replacingOccurrences(of: "account_id = \"0123abcd\"\n", with: "")).load().vault(named: "primary") }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("account_id") == true)
    }

    @Test func providerWithoutDefaultRegionNeedsOne() throws {
        let catalogProfile = try ConfigFixture("").load().catalog.profiles.first { $0.defaultRegion == nil && !$0.endpointTemplate.isEmpty }
        guard let profile = catalogProfile else { return }  // every shipped profile has a default region
        let text = "[vaults.v]\nprovider = \"\(profile.name)\"\nbucket = \"b\"\naccess_key_id = \"AKIA1\"\nsecret_access_key = \"x\"\n"
        let error = agentError { _ = try ConfigFixture(text).load().vault(named: "v") }
        #expect(error?.code == .invalidConfig && error?.message.contains("region") == true)
    }

    @Test func endpointOverrideMustBeAnHTTPURL() throws {
        let minio = "[vaults.m]\nprovider = \"minio\"\nbucket = \"b\"\naccess_key_id = \"AKIA1\"\nsecret_access_key = \"x\"\n"
        let noEndpoint = agentError { _ = try ConfigFixture(minio).load().vault(named: "m") }
        #expect(noEndpoint?.code == .invalidConfig && noEndpoint?.hint.contains("endpoint") == true)

        let vault = try ConfigFixture(minio + "endpoint = \"http://127.0.0.1:9000/\"\n").load().vault(named: "m")
        #expect(vault.endpoint == "http://127.0.0.1:9000")
        #expect(vault.pathStyle)

        for bad in ["ftp://minio.local", "minio.local:9000", "https://minio.local/bucket"] {
            let error = agentError { _ = try ConfigFixture(minio + "endpoint = \"\(bad)\"\n").load().vault(named: "m") }
            #expect(error?.code == .invalidConfig && error?.message.contains("endpoint") == true)
        }
    }

    @Test func pathStyleOverride() throws {
        let aws = "[vaults.a]\nprovider = \"aws\"\nbucket = \"b\"\nregion = \"eu-west-1\"\naccess_key_id = \"AKIA1\"\nsecret_access_key = \"x\"\n"
        let plain = try ConfigFixture(aws).load().vault(named: "a")
        #expect(plain.pathStyle == (plain.profile.addressing == .path))
        #expect(plain.endpoint == "https://s3.eu-west-1.amazonaws.com")
        #expect(try ConfigFixture(aws + "path_style = true\n").load().vault(named: "a").pathStyle)
    }

    @Test func prefixDefaultsToTheHostNameAndIsNormalised() throws {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        let hostName = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(try ConfigFixture(r2Vault).load().vault(named: "primary").prefix == hostName + "/")
        for (written, expected) in [("web-01", "web-01/"), ("web-01/", "web-01/"), ("/a/b", "a/b/"), ("", "")] {
            #expect(try ConfigFixture(r2Vault + "\nprefix = \"\(written)\"\n").load().vault(named: "primary").prefix == expected)
        }
        for bad in ["a//b", "a/../b", "./"] {
            #expect(agentError { _ = try ConfigFixture(r2Vault + "\nprefix = \"\(bad)\"\n").load().vault(named: "primary") }?.code == .invalidConfig)
        }
    }

    @Test func partSizeOutsideTheProviderLimitsIsInvalid() throws {
        let error = agentError { _ = try ConfigFixture(r2Vault + "\npart_size = \"1MiB\"\n").load().vault(named: "primary") }
        #expect(error?.code == .invalidConfig && error?.message.contains("part_size") == true)
    }

    @Test func unreadableCAFileIsInvalid() throws {
        let error = agentError { _ = try ConfigFixture(r2Vault + "\nca_file = \"/nonexistent/ca.pem\"\n").load().vault(named: "primary") }
        #expect(error?.code == .invalidConfig && error?.message.contains("/nonexistent/ca.pem") == true)
    }
}
