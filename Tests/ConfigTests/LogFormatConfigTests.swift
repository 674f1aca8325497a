import AgentSupport
import Config
import Testing

/// `log_format`: how state_dir/agent.log is written (issue 13 item 9).
struct LogFormatConfigTests {
    @Test func logFormatIsTextUnlessSetToJSON() throws {
        #expect(try ConfigFixture(r2Vault).load().logFormat == .text)
        #expect(try ConfigFixture("log_format = \"json\"\n" + r2Vault).load().logFormat == .json)
        #expect(try ConfigFixture("log_format = \"text\"\n" + r2Vault).load().logFormat == .text)
    }

    @Test func aBadLogFormatIsInvalidConfigNamingItsLineWithAHint() throws {
        let fixture = try ConfigFixture("backup_dir = \"/srv\"\nlog_format = \"JSON lines\"\n" + r2Vault)
        let error = agentError { _ = try fixture.load() }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("\(fixture.path):2") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("log_format") == true)
        #expect(error?.hint.contains("\"json\"") == true)
        let typed = agentError { _ = try ConfigFixture("log_format = 1\n" + r2Vault).load() }
        #expect(typed?.code == .invalidConfig)
        #expect(typed?.message.contains("log_format") == true)
    }
}
