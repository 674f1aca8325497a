/// The text layout shared by the check reports (`test-connection`, `doctor`): an aligned table
/// of the checks and the closing result line.
public enum CheckTable {
    /// `header` and `rows` as aligned columns, two spaces apart, indented by two.
    public static func lines(header: [String], rows: [[String]]) -> [String] {
        let widths = header.indices.map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            let cells = row.indices.map { i in i == row.count - 1 ? row[i] : row[i].padding(widths[i]) }
            var line = "  " + cells.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
    }

    /// "result: every check passed", "result: passed with 2 warnings", "result: FAILED (1 failure, 1 warning)".
    public static func result(_ statuses: [CheckStatus]) -> String {
        let fails = statuses.filter { $0 == .fail }.count
        let warns = statuses.filter { $0 == .warn }.count
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        if fails == 0 { return warns == 0 ? "result: every check passed" : "result: passed with \(plural(warns, "warning"))" }
        return "result: FAILED (\(plural(fails, "failure"))\(warns > 0 ? ", \(plural(warns, "warning"))" : ""))"
    }
}
