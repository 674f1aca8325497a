import Foundation
import Testing
import TOMLKit

@testable import Providers

/// The agent reads TOML with Debian's toml++ (CTOMLShim); it used to read it with TOMLKit. A document
/// the two read differently is a bug, so every sample, shipped profile, fixture and TOML text written
/// in the tests goes through both: the same values, or a refusal on the same line.
/// (TOMLKit is a dependency of this test target only; the agent does not link it.)
@Suite struct TOMLEngineComparisonTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// (name, text) of every document in the corpus.
    static func corpus() throws -> [(String, String)] {
        var documents: [(String, String)] = []
        func files(_ folder: String, _ suffix: String) throws -> [String] {
            let dir = root.appendingPathComponent(folder)
            let names = (try? FileManager.default.subpathsOfDirectory(atPath: dir.path)) ?? []
            return names.filter { $0.hasSuffix(suffix) }.sorted().map { dir.appendingPathComponent($0).path }
        }
        for path in try files("samples", ".toml") + files("providers", ".toml") + files("Tests/ProvidersTests/Fixtures/toml", ".toml") {
            documents.append((path, try String(contentsOfFile: path, encoding: .utf8)))
        }
        for (name, text) in ShippedProfiles.files { documents.append(("built-in profile \(name)", text)) }
        // Multi-line string literals in the Swift tests (those without interpolation) are the configs and
        // profiles the unit tests write; some are not TOML at all (XML, JSON), which both must refuse alike.
        for path in try files("Tests", ".swift") {
            let source = try String(contentsOfFile: path, encoding: .utf8)
            for (index, literal) in Self.multilineLiterals(in: source).enumerated() {
                documents.append(("\(path) literal \(index + 1)", literal))
            }
        }
        return documents
    }

    /// The text of each `"""` literal, its indentation removed and simple escapes resolved.
    static func multilineLiterals(in source: String) -> [String] {
        var literals: [String] = []
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var i = 0
        while i < lines.count {
            let opening = lines[i].trimmingCharacters(in: .whitespaces)
            guard opening.hasSuffix("\"\"\""), opening.components(separatedBy: "\"\"\"").count == 2 else {
                i += 1
                continue
            }
            var body: [String] = []
            var j = i + 1
            while j < lines.count, lines[j].trimmingCharacters(in: .whitespaces).hasPrefix("\"\"\"") == false {
                body.append(lines[j])
                j += 1
            }
            guard j < lines.count else { break }
            let indent = lines[j].prefix { $0 == " " }.count
            let text = body.map { String($0.dropFirst(min(indent, $0.prefix { $0 == " " }.count))) }.joined(separator: "\n")
            if !text.contains("\\(") && !text.contains("\\u{") {
                literals.append(
                    text.replacingOccurrences(of: "\\\\", with: "\u{1}").replacingOccurrences(of: "\\\"", with: "\"")
                        .replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\t", with: "\t")
                        .replacingOccurrences(of: "\u{1}", with: "\\"))
            }
            i = j + 1
        }
        return literals
    }

    enum Outcome: Equatable, CustomStringConvertible {
        case value(String)
        case refused(line: Int)

        var description: String {
            switch self {
            case .value(let v): return v
            case .refused(let line): return "refused on line \(line)"
            }
        }
    }

    // MARK: the agent's reader

    static func agent(_ text: String) -> Outcome {
        do {
            return .value(canonical(Providers.TOMLValue(content: .table(try Providers.TOMLTable.parse(text)), position: .init(line: 0, column: 0))))
        } catch {
            return .refused(line: error.position.line)
        }
    }

    static func canonical(_ value: Providers.TOMLValue) -> String {
        switch value.content {
        case .table(let t): return "{" + t.keys.sorted().map { "\(quoted($0))=\(canonical(t[$0]!))" }.joined(separator: ",") + "}"
        case .array(let a): return "[" + a.map(canonical).joined(separator: ",") + "]"
        case .string(let s): return "s:" + quoted(s)
        case .int(let i): return "i:\(i)"
        case .double(let d): return "f:\(d.bitPattern)"
        case .bool(let b): return "b:\(b)"
        case .date(let s): return "d:" + s
        case .time(let s): return "t:" + s
        case .dateTime(let s): return "dt:" + s
        }
    }

    // MARK: TOMLKit

    static func tomlKit(_ text: String) -> Outcome {
        do {
            return .value(canonical(try TOMLKit.TOMLTable(string: text)))
        } catch let error as TOMLKit.TOMLParseError {
            return .refused(line: error.source.begin.line)
        } catch {
            return .refused(line: -1)
        }
    }

    static func canonical(_ value: any TOMLKit.TOMLValueConvertible) -> String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        func time(_ t: TOMLKit.TOMLTime) -> String {
            var s = "\(two(t.hour)):\(two(t.minute)):\(two(t.second))"
            if t.nanoSecond != 0 {
                let digits = String(t.nanoSecond)
                s += "." + String(repeating: "0", count: 9 - digits.count) + digits
            }
            return s
        }
        func date(_ d: TOMLKit.TOMLDate) -> String {
            let year = String(d.year)
            return String(repeating: "0", count: max(0, 4 - year.count)) + year + "-\(two(d.month))-\(two(d.day))"
        }
        switch value.type {
        case .table:
            let t = value.table!
            return "{" + t.keys.sorted().map { "\(quoted($0))=\(canonical(t[$0]!))" }.joined(separator: ",") + "}"
        case .array: return "[" + value.array!.map { canonical($0) }.joined(separator: ",") + "]"
        case .string: return "s:" + quoted(value.string!)
        case .int: return "i:\(value.int!)"
        case .double: return "f:\(value.double!.bitPattern)"
        case .bool: return "b:\(value.bool!)"
        case .date: return "d:" + date(value.date!)
        case .time: return "t:" + time(value.time!)
        case .dateTime:
            let dt = value.dateTime!
            var s = date(dt.date) + "T" + time(dt.time)
            if let offset = dt.offset {
                let minutes = offset.offset
                if minutes == 0 {
                    s += "Z"
                } else {
                    s += (minutes < 0 ? "-" : "+") + "\(two(abs(minutes) / 60)):\(two(abs(minutes) % 60))"
                }
            }
            return "dt:" + s
        }
    }

    static func quoted(_ s: String) -> String { "\"" + s.unicodeScalars.map { $0.escaped(asASCII: true) }.joined() + "\"" }

    // MARK: tests

    @Test func bothReadersAgreeOnEveryDocument() throws {
        let documents = try Self.corpus()
        var valid = 0
        var refused = 0
        for (name, text) in documents {
            let ours = Self.agent(text)
            let theirs = Self.tomlKit(text)
            #expect(ours == theirs, "\(name): toml++ \(ours) / TOMLKit \(theirs)")
            if case .value = ours { valid += 1 } else { refused += 1 }
        }
        // The corpus really holds both kinds: the samples, the 7 profiles twice, the fixtures, and the tests' texts.
        #expect(valid >= 20, "only \(valid) valid documents in the corpus")
        #expect(refused >= 15, "only \(refused) refused documents in the corpus")
    }

    @Test func fixturesAreReadAsTheirNamesSay() throws {
        for (name, text) in try Self.corpus() where name.contains("/Fixtures/toml/") {
            switch Self.agent(text) {
            case .value: #expect(name.contains("/valid-"), "\(name) was accepted")
            case .refused: #expect(name.contains("/invalid-"), "\(name) was refused")
            }
        }
    }
}
