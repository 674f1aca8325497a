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

    @Test(arguments: ["backup-role", "a", "Role+=,.@_-9", String(repeating: "r", count: 64), "a..b", "..."])
    func aRoleNameIAMAllowsIsUsed(name: String) throws {
        #expect(try InstanceMetadataClient.roleName(from: name) == name)
    }

    /// Hostile answers naming the role (it becomes the next request's path segment): each refused
    /// with INVALID_CONFIG, its problem as the typed cause, and none of the answer in the words.
    @Test(arguments: [
        ("", InstanceMetadataClient.RoleNameProblem.none),
        ("role-a\nrole-b", .severalLines),
        ("role\r\nX-Injected: 1", .severalLines),
        (String(repeating: "r", count: 65), .tooLong(length: 65)),
        (String(repeating: "SECRETISH", count: 1000), .tooLong(length: 9000)),
        ("../../../latest/api/token", .invalidByte(0x2F, position: 3)),
        ("role/../other", .invalidByte(0x2F, position: 5)),
        ("..", .dotSegment),
        (".", .dotSegment),
        ("r%2F..%2Fx", .invalidByte(0x25, position: 2)),
        ("role?x=1", .invalidByte(0x3F, position: 5)),
        ("role#frag", .invalidByte(0x23, position: 5)),
        ("ro le", .invalidByte(0x20, position: 3)),
        ("role\u{0}x", .invalidByte(0x00, position: 5)),
        ("role\u{1B}[2J", .invalidByte(0x1B, position: 5)),
        ("r\u{00E9}le", .invalidByte(0xC3, position: 2)),
        ("rôle\u{FFFD}", .invalidByte(0xC3, position: 2)),
    ])
    func aHostileRoleNameIsRefused(answer: String, problem: InstanceMetadataClient.RoleNameProblem) {
        do {
            let name = try InstanceMetadataClient.roleName(from: answer)
            Issue.record("accepted \(name.debugDescription)")
        } catch {
            #expect(error.code == .invalidConfig)
            #expect(error.cause as? InstanceMetadataClient.RoleNameProblem == problem, "\(error)")
            #expect(error.message.hasPrefix("credentials = \"instance\": "))
            if answer.count > 2 { #expect(!error.message.contains(answer) && !error.hint.contains(answer), "\(error.message)") }
            #expect(!error.message.contains("SECRETISH"))
        }
    }

    @Test func aSessionTokenThatCouldNotBeAHeaderValueIsRefused() throws {
        #expect(try InstanceMetadataClient.sessionToken(from: "AQAEAFq-token_==") == "AQAEAFq-token_==")
        for hostile in ["", "tok\r\nX-Evil: 1", "tok en", String(repeating: "t", count: 4097), "t\u{7F}", "t\u{00E9}"] {
            do {
                _ = try InstanceMetadataClient.sessionToken(from: hostile)
                Issue.record("accepted \(hostile.debugDescription)")
            } catch {
                #expect(error.code == .invalidConfig)
                if !hostile.isEmpty { #expect(!error.message.contains(hostile)) }
            }
        }
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
