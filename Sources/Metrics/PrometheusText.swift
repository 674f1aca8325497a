/// Renders vault metrics in the Prometheus text exposition format that node_exporter's
/// textfile collector reads (https://prometheus.io/docs/instrumenting/exposition_formats/).
enum PrometheusText {
    struct Family: Sendable {
        var name: String
        var type: String
        var help: String
        var value: @Sendable (VaultMetrics) -> Int64
    }

    static let families: [Family] = [
        Family(name: "offsite_agent_last_success_timestamp_seconds", type: "gauge", help: "Unix time of the last successful run against the vault (0: never).") { $0.lastSuccess },
        Family(name: "offsite_agent_last_attempt_timestamp_seconds", type: "gauge", help: "Unix time of the last run against the vault.") { $0.lastAttempt },
        Family(name: "offsite_agent_last_attempt_ok", type: "gauge", help: "1 if the last run against the vault succeeded, else 0.") { $0.lastAttemptOK ? 1 : 0 },
        Family(name: "offsite_agent_uploaded_bytes_total", type: "counter", help: "Bytes of backup files uploaded to the vault.") { $0.uploadedBytes },
        Family(name: "offsite_agent_uploaded_files_total", type: "counter", help: "Backup files uploaded to the vault.") { $0.uploadedFiles },
        Family(name: "offsite_agent_retries_total", type: "counter", help: "Requests to the vault retried after a transient failure.") { $0.retries },
        Family(name: "offsite_agent_stalls_total", type: "counter", help: "Transfers to the vault cut because they stalled.") { $0.stalls },
        Family(name: "offsite_agent_resumes_total", type: "counter", help: "Interrupted uploads to the vault resumed.") { $0.resumes },
        Family(name: "offsite_agent_connection_test_timestamp_seconds", type: "gauge", help: "Unix time of the last test-connection against the vault (0: never).") { $0.lastConnectionTest },
        Family(name: "offsite_agent_connection_test_ok", type: "gauge", help: "1 if every check of the last test-connection passed, else 0.") { $0.lastConnectionTestOK ? 1 : 0 },
        Family(name: "offsite_agent_clock_skew_seconds", type: "gauge", help: "This server's clock minus the storage server's, as last seen (0: none seen).") { $0.clockSkew },
    ]

    /// Every family with one sample per vault, vaults in name order.
    static func render(_ vaults: [String: VaultMetrics]) -> String {
        let names = vaults.keys.sorted()
        var out = ""
        for family in families {
            out += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.type)\n"
            for name in names {
                guard let metrics = vaults[name] else { continue }
                out += "\(family.name){vault=\"\(escapeLabel(name))\"} \(family.value(metrics))\n"
            }
        }
        return out
    }

    /// Label values escape backslash, double quote and newline.
    static func escapeLabel(_ value: String) -> String {
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
