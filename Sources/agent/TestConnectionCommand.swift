import AgentSupport
import ArgumentParser
import Metrics
import Diagnostics
import HTTPTransport
import Logging

struct TestConnectionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-connection",
        abstract: "Run the connection checks against a vault.",
        discussion: """
            Checks in order: config, dns, connect, tls, clock, credentials, region, bucket, list, write, \
            multipart, delete. Each failure names what the server said, what it means and the fix. \
            Exits 0 when no check failed, 3 for a config failure, 5 otherwise.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Vault to test (default: default_vault).")
    var vault: String?

    @Flag(name: .long, help: "Skip the write, multipart and delete checks.")
    var noWrite = false

    func run() throws {
        global.apply()
        let http = VaultAccess.http()
        let test = ConnectionTest(
            options: ConnectionTest.Options(configPath: global.config, environment: Runtime.environment, vault: vault, noWrite: noWrite), http: http)
        let report = test.run()
        if global.json {
            Output.emit(report.json)
        } else {
            // The deciding failure is said once: as error/hint on stderr, not again in the report.
            Output.result(report.text(omittingDetailsOf: report.firstFailure?.id))
        }
        if let failure = report.firstFailure {
            Output.diagnostic("error: \(failure.code?.rawValue ?? "FAILED"): \(failure.id.rawValue): \(failure.explanation)")
            Output.diagnostic("hint: \(failure.fix)")
        }
        Output.exitStatus = report.exitStatus
        let config = test.config
        if let failure = report.firstFailure, let config {
            // A failed test leaves its ERROR line in agent.log like any failed run.
            Runtime.openLogFile(config)
            Output.logFailure(
                AgentError(failure.code ?? .failed, "\(failure.id.rawValue): \(failure.explanation)", hint: failure.fix),
                context: "test-connection, vault \(report.vault)", metadata: ["vault": .string(report.vault), "operation": "test-connection"])
        }
        // The metrics file records the test too; a config that does not load has no metrics_file.
        if let config, let file = config.metricsFile, !report.vault.isEmpty {
            do {
                try MetricsRecorder(stateDir: config.stateDir, file: file).recordConnectionTest(vault: report.vault, ok: report.ok, clockSkew: report.clockSkew)
            } catch {
                Output.diagnostic("warning: metrics_file \(file) not updated: \(error.description)")
            }
        }
    }
}
