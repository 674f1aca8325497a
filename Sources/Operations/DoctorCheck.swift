import AgentSupport
import Diagnostics

/// One item of `agent doctor`'s checklist: what was found and, for a warning or failure, the
/// exact fix. The same shape as a connection test's check.
public struct DoctorCheck: Sendable, Equatable {
    /// `schedule`, `last_success:primary`, `stuck`, `small`, `uploads`, `disk`, `clock`, `files`, `locks`, `config`.
    public var id: String
    public var status: CheckStatus
    public var code: String?
    public var explanation: String
    public var fix: String

    public init(_ id: String, _ status: CheckStatus, code: String? = nil, _ explanation: String, fix: String = "") {
        self.id = id
        self.status = status
        self.code = code
        self.explanation = explanation
        self.fix = fix
    }
}

/// `agent doctor`'s result: every check in order.
public struct DoctorReport: Sendable {
    public var checks: [DoctorCheck]
    /// The config could not be loaded or a vault in it cannot be used.
    public var configFailed: Bool

    public init(checks: [DoctorCheck], configFailed: Bool = false) {
        self.checks = checks
        self.configFailed = configFailed
    }

    /// True when nothing failed (warnings allowed).
    public var ok: Bool { !checks.contains { $0.status == .fail } }

    /// 0 when nothing failed, 3 for a configuration error, 1 otherwise.
    public var exitStatus: ExitStatus {
        if configFailed { return .config }
        return ok ? .success : .failed
    }

    public var json: JSON {
        .object([
            ("ok", .bool(ok)),
            (
                "checks",
                .array(
                    checks.map { c in
                        .object([
                            ("id", .string(c.id)), ("status", .string(c.status.rawValue)), ("code", c.code.map { .string($0) } ?? .null),
                            ("explanation", .string(c.explanation)), ("fix", .string(c.fix)),
                        ])
                    })
            ),
        ])
    }

    /// The human report: a table of the checks, then each failure's and warning's finding and fix.
    public var text: String {
        var out = ["doctor: the backup troubleshooting checklist", ""]
        out += CheckTable.lines(header: ["check", "status", "code"], rows: checks.map { [$0.id, $0.status.rawValue, $0.code ?? ""] })
        for c in checks where c.status != .pass {
            out.append("")
            out.append("\(c.id): \(c.status == .fail ? "FAILED" : c.status == .warn ? "WARNING" : "skipped")\(c.code.map { " \($0)" } ?? "")")
            out.append("  found: \(c.explanation)")
            if !c.fix.isEmpty { out.append("  fix: \(c.fix)") }
        }
        out.append("")
        out.append(CheckTable.result(checks.map(\.status)))
        return out.joined(separator: "\n")
    }
}
