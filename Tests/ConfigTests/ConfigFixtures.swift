import AgentSupport
import Config
import Foundation
import TestSupport
import Testing

/// A config file written to a temporary directory and loaded.
struct ConfigFixture {
    let dir: TemporaryDirectory
    let path: String

    init(_ text: String) throws {
        dir = try TemporaryDirectory()
        path = try dir.write("agent.toml", text)
    }

    func load(environment: [String: String] = [:]) throws -> AgentConfig {
        try AgentConfig.load(path: path, environment: environment)
    }

    /// The 1-based line of the first line of the config containing `fragment`.
    func line(of fragment: String) throws -> Int {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        return (lines.firstIndex { $0.contains(fragment) } ?? -2) + 1
    }
}

/// A valid R2 vault with its secret in the config.
let r2Vault = """
    [vaults.primary]
    provider = "r2"
    bucket = "acme-backups"
    account_id = "0123abcd"
    access_key_id = "AKIAEXAMPLE1234"
    secret_access_key = "SuperSecretValue42"
    """

/// Runs `body`, which must throw an AgentError, and returns it.
func agentError(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) -> AgentError? {
    do {
        try body()
        Issue.record("no error was thrown", sourceLocation: sourceLocation)
    } catch let error as AgentError {
        return error
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
