import AgentSupport
import Foundation
import Testing

/// Errors are a closed set (SPEC 3): every code the agent can report is a case of `ErrorCode`,
/// and README's "Error codes and fixes" table names each with the exit status it ends with.
@Suite struct ErrorCodeTableTests {
    static func readmeTable() throws -> [String: String] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        guard let start = readme.range(of: "## Error codes and fixes") else { return [:] }
        var rows: [String: String] = [:]
        for line in readme[start.upperBound...].split(separator: "\n").prefix(while: { !$0.hasPrefix("## ") }) where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count > 2 else { continue }
            // `A` / `B` rows name two codes.
            for code in cells[1].split(separator: "/") {
                rows[code.trimmingCharacters(in: CharacterSet(charactersIn: " `"))] = cells[2]
            }
        }
        return rows
    }

    @Test func readmeListsEveryCodeWithItsExitStatus() throws {
        let table = try Self.readmeTable()
        #expect(!table.isEmpty)
        for code in ErrorCode.allCases {
            let exit = try #require(table[code.rawValue], "README's error table lacks \(code)")
            if code.isWarning {
                #expect(exit.contains("warning"), "\(code): \(exit)")
            } else {
                // "5 (75 after retries ...)", "3/5": the statuses the code can end with.
                let numbers = exit.split(whereSeparator: { !$0.isNumber }).map(String.init)
                #expect(numbers.contains(String(code.exitStatus.rawValue)), "\(code): README says \(exit), the agent exits \(code.exitStatus.rawValue)")
            }
        }
    }

    @Test func codesAreUniqueAndUpperSnakeCase() {
        let raw = ErrorCode.allCases.map(\.rawValue)
        #expect(Set(raw).count == raw.count)
        #expect(raw.allSatisfy { $0.allSatisfy { $0.isUppercase || $0 == "_" } })
    }
}
