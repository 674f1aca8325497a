import AgentSupport

/// The connection test's result (SPEC 7): the vault tested and every check in order.
public struct ConnectionReport: Sendable {
    public var vault: String
    public var provider: String
    public var endpoint: String
    public var region: String
    public var bucket: String
    public var checks: [CheckResult]
    /// This server's clock minus the storage server's, when the test could compare them.
    public var clockSkew: Int64?
    /// What this key could erase (the `lock` check), when the test got that far.
    public var blastRadius: BlastRadius?

    public init(vault: String, provider: String, endpoint: String, region: String, bucket: String, checks: [CheckResult]) {
        self.vault = vault
        self.provider = provider
        self.endpoint = endpoint
        self.region = region
        self.bucket = bucket
        self.checks = checks
    }

    /// True when no check failed (warnings allowed).
    public var ok: Bool { !checks.contains { $0.status == .fail } }

    public func check(_ id: CheckID) -> CheckResult? { checks.first { $0.id == id } }

    /// The failure that decided the outcome: the first one in check order.
    public var firstFailure: CheckResult? { checks.first { $0.status == .fail } }

    /// 0 when no check failed, 3 for a `config` failure, 5 otherwise.
    public var exitStatus: ExitStatus {
        guard let failure = firstFailure else { return .success }
        return failure.id == .config ? .config : .storage
    }

    /// The `--json` document of SPEC 7.
    public var json: JSON {
        .object([
            ("ok", .bool(ok)), ("vault", .string(vault)), ("provider", .string(provider)), ("endpoint", .string(endpoint)),
            ("region", .string(region)), ("bucket", .string(bucket)),
            (
                "checks",
                .array(
                    checks.map { c in
                        .object([
                            ("id", .string(c.id.rawValue)), ("status", .string(c.status.rawValue)), ("code", c.code.map { .string($0.rawValue) } ?? .null),
                            ("explanation", .string(c.explanation)), ("fix", .string(c.fix)), ("ms", .int(Int64(c.ms))),
                        ])
                    })
            ),
            ("blast_radius", blastRadius?.json ?? .null),
        ])
    }

    /// The human report: a compact table of the checks, then each failure's and warning's
    /// explanation and fix.
    public var text: String { text(omittingDetailsOf: nil) }

    /// The report without one check's explanation and fix: the deciding failure's, which the
    /// caller says once as `error:` / `hint:` on stderr.
    public func text(omittingDetailsOf omitted: CheckID?) -> String {
        var out: [String] = []
        let what = bucket.isEmpty ? "" : " bucket \(bucket)"
        let where_ = endpoint.isEmpty ? "" : " at \(endpoint)"
        let region = region.isEmpty ? "" : " (region \(self.region))"
        out.append("test-connection: vault \(vault.isEmpty ? "?" : vault)\(provider.isEmpty ? "" : " [\(provider)]"),\(what)\(where_)\(region)")
        out.append("")
        let rows = checks.map { [$0.id.rawValue, $0.status.rawValue, $0.status == .skip ? "" : "\($0.ms) ms", $0.code?.rawValue ?? ""] }
        out += CheckTable.lines(header: ["check", "status", "time", "code"], rows: rows)
        for c in checks where (c.status == .fail || c.status == .warn) && c.id != omitted {
            out.append("")
            out.append("\(c.id.rawValue): \(c.status == .fail ? "FAILED" : "WARNING") \(c.code?.rawValue ?? "")")
            out.append("  why: \(c.explanation)")
            out.append("  fix: \(c.fix)")
        }
        out.append("")
        out.append(CheckTable.result(checks.map(\.status)))
        return out.joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
