import AgentSupport
import Foundation
import TestSupport
import Testing

@testable import Metrics

/// The textfile node_exporter reads, and the totals kept across runs.
struct MetricsRecorderTests {
    /// Sample lines `name{vault="x"} value` of a textfile, keyed "name/vault".
    func samples(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let brace = parts[0].firstIndex(of: "{") else { continue }
            let name = parts[0][..<brace]
            let vault = parts[0][brace...].dropFirst("{vault=\"".count).dropLast(2)
            result["\(name)/\(vault)"] = String(parts[1])
        }
        return result
    }

    @Test func countersAccumulateAcrossRunsAndGaugesTakeTheLastRun() throws {
        let dir = try TemporaryDirectory()
        let file = dir.path + "/textfile/offsite_agent.prom"
        let recorder = MetricsRecorder(stateDir: dir.path + "/state", file: file)
        try recorder.record(vault: "primary", ok: true, bytes: 1000, files: 2, retries: 1, stalls: 0, resumed: false, at: 1_700_000_000)
        // A new recorder (a later run) starts from the saved state.
        try MetricsRecorder(stateDir: dir.path + "/state", file: file).record(
            vault: "primary", ok: false, bytes: 0, files: 0, retries: 4, stalls: 1, resumed: true, at: 1_700_000_600)
        try recorder.record(vault: "offsite-2", ok: true, bytes: 5, files: 1, at: 1_700_000_700)

        let values = samples(try String(contentsOfFile: file, encoding: .utf8))
        #expect(values["offsite_agent_last_success_timestamp_seconds/primary"] == "1700000000")
        #expect(values["offsite_agent_last_attempt_timestamp_seconds/primary"] == "1700000600")
        #expect(values["offsite_agent_last_attempt_ok/primary"] == "0")
        #expect(values["offsite_agent_uploaded_bytes_total/primary"] == "1000")
        #expect(values["offsite_agent_uploaded_files_total/primary"] == "2")
        #expect(values["offsite_agent_retries_total/primary"] == "5")
        #expect(values["offsite_agent_stalls_total/primary"] == "1")
        #expect(values["offsite_agent_resumes_total/primary"] == "1")
        #expect(values["offsite_agent_last_attempt_ok/offsite-2"] == "1")
        #expect(values["offsite_agent_uploaded_bytes_total/offsite-2"] == "5")
    }

    @Test func textfileDeclaresEachFamilyOnceWithItsType() throws {
        var metrics = VaultMetrics()
        metrics.uploadedBytes = 7
        let text = PrometheusText.render(["a": metrics, "b": VaultMetrics()])
        let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }
        #expect(types.count == PrometheusText.families.count)
        #expect(Set(types).count == types.count)
        #expect(types.contains("# TYPE offsite_agent_uploaded_bytes_total counter"))
        #expect(types.contains("# TYPE offsite_agent_last_success_timestamp_seconds gauge"))
        #expect(text.contains("offsite_agent_uploaded_bytes_total{vault=\"a\"} 7\n"))
        #expect(text.hasSuffix("\n"))
    }

    @Test func connectionTestsHaveTheirOwnGaugesAndAreNoUploadSuccess() throws {
        let dir = try TemporaryDirectory()
        let file = dir.path + "/offsite_agent.prom"
        let recorder = MetricsRecorder(stateDir: dir.path + "/state", file: file)
        try recorder.recordConnectionTest(vault: "primary", ok: true, at: 1_700_000_000)
        try recorder.recordConnectionTest(vault: "down", ok: false, at: 1_700_000_100)
        let values = samples(try String(contentsOfFile: file, encoding: .utf8))
        #expect(values["offsite_agent_connection_test_ok/primary"] == "1")
        #expect(values["offsite_agent_connection_test_timestamp_seconds/primary"] == "1700000000")
        #expect(values["offsite_agent_connection_test_ok/down"] == "0")
        #expect(values["offsite_agent_last_success_timestamp_seconds/primary"] == "0")
        #expect(values["offsite_agent_last_attempt_timestamp_seconds/primary"] == "0")
    }

    @Test func labelValuesAreEscaped() {
        #expect(PrometheusText.escapeLabel("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
    }

    @Test func textfileIsWorldReadableAndStateIsPrivate() throws {
        let dir = try TemporaryDirectory()
        let recorder = MetricsRecorder(stateDir: dir.path, file: dir.path + "/agent.prom")
        try recorder.record(vault: "v", ok: true)
        let prom = try FileManager.default.attributesOfItem(atPath: dir.path + "/agent.prom")[.posixPermissions] as? Int
        let state = try FileManager.default.attributesOfItem(atPath: dir.path + "/metrics.json")[.posixPermissions] as? Int
        #expect(prom == 0o644)
        #expect(state == 0o600)
    }
}
