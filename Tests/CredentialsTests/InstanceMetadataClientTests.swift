import AgentSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import Credentials

/// Reading IMDSv2's answers, and what an admin reads when there is no metadata service.
struct InstanceMetadataClientTests {
    @Test func roleCredentialsDocumentIsRead() throws {
        let text = """
            {"Code": "Success", "LastUpdated": "2026-11-21T02:00:00Z", "Type": "AWS-HMAC",
             "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "wJalrEXAMPLE", "Token": "IQoJEXAMPLE", "Expiration": "2026-11-21T08:00:00Z"}
            """
        let credentials = try InstanceMetadataClient.parseCredentials(text, role: "backup-role")
        #expect(credentials.accessKeyID == "ASIAEXAMPLE")
        #expect(credentials.secretAccessKey == "wJalrEXAMPLE")
        #expect(credentials.sessionToken == "IQoJEXAMPLE")
        #expect(credentials.expiration == Timestamp.parseISO8601("2026-11-21T08:00:00Z"))
        #expect(!"\(credentials)".contains("wJalrEXAMPLE") && !"\(credentials)".contains("IQoJEXAMPLE"))
    }

    @Test func documentWithoutTokenIsRefused() {
        let text = #"{"Code": "Success", "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "s", "Expiration": "2026-11-21T08:00:00Z"}"#
        #expect(throws: AgentError.self) { try InstanceMetadataClient.parseCredentials(text, role: "r") }
    }

    @Test func endpointComesFromTheEnvironment() {
        #expect(InstanceMetadataClient(environment: [:]).endpoint == "http://169.254.169.254")
        #expect(InstanceMetadataClient(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9/"]).endpoint == "http://127.0.0.1:9")
    }

    @Test func unreachableMetadataServiceNamesTheAlternatives() throws {
        // A port nothing listens on: bind one, then close it.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = UInt16(bigEndian: address.sin_port)
        close(fd)

        do {
            _ = try InstanceMetadataClient(endpoint: "http://127.0.0.1:\(port)").fetchRoleCredentials()
            Issue.record("expected a failure")
        } catch {
            #expect(error.code == .invalidConfig)
            #expect(error.message.contains("127.0.0.1:\(port)"))
            #expect(error.hint.contains("profile:NAME"))
        }
    }
}
