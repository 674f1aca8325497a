import CTOMLShim

/// A parsed TOML 1.0 document (Debian's toml++ behind the `CTOMLShim` C interface), held as plain
/// Swift values that remember where each was written. No Foundation, no C++ object survives the parse.
package enum TOMLType: String, Sendable, CaseIterable, CustomStringConvertible {
    case table, array, string, int, double, bool, date, time, dateTime

    /// As in messages: "integer", "floating-point number", "date-time".
    package var description: String {
        switch self {
        case .int: return "integer"
        case .double: return "floating-point number"
        case .dateTime: return "date-time"
        default: return rawValue
        }
    }
}

/// A line and column in the document, 1-based.
package struct TOMLPosition: Sendable, Equatable, Comparable {
    package var line: Int
    package var column: Int

    package static func < (a: TOMLPosition, b: TOMLPosition) -> Bool { (a.line, a.column) < (b.line, b.column) }
}

/// One value with the place it was written.
package struct TOMLValue: Sendable {
    package enum Content: Sendable {
        case table(TOMLTable)
        case array([TOMLValue])
        case string(String)
        case int(Int)
        case double(Double)
        case bool(Bool)
        /// Dates and times as RFC 3339 text ("1979-05-27", "07:32:00", "1979-05-27T07:32:00Z").
        case date(String), time(String), dateTime(String)
    }

    package var content: Content
    package var position: TOMLPosition

    package var type: TOMLType {
        switch content {
        case .table: .table
        case .array: .array
        case .string: .string
        case .int: .int
        case .double: .double
        case .bool: .bool
        case .date: .date
        case .time: .time
        case .dateTime: .dateTime
        }
    }

    package var string: String? { if case .string(let s) = content { s } else { nil } }
    package var int: Int? { if case .int(let i) = content { i } else { nil } }
    package var double: Double? { if case .double(let d) = content { d } else { nil } }
    package var bool: Bool? { if case .bool(let b) = content { b } else { nil } }
    package var array: [TOMLValue]? { if case .array(let a) = content { a } else { nil } }
    package var table: TOMLTable? { if case .table(let t) = content { t } else { nil } }
}

/// A table: its members in the order they were first written, each with the place of its key.
package struct TOMLTable: Sendable {
    package struct Member: Sendable {
        package var key: String
        package var keyPosition: TOMLPosition
        package var value: TOMLValue
    }

    /// In file order (by where each key was first written).
    package private(set) var members: [Member]
    private var index: [String: Int]

    init(members: [Member]) {
        self.members = members.sorted { ($0.keyPosition, $0.key) < ($1.keyPosition, $1.key) }
        index = [:]
        for (i, member) in self.members.enumerated() { index[member.key] = i }
    }

    /// The keys in file order.
    package var keys: [String] { members.map(\.key) }

    package subscript(key: String) -> TOMLValue? { index[key].map { members[$0].value } }

    /// Where `key` was first written; nil when the table has no such key.
    package func position(of key: String) -> TOMLPosition? { index[key].map { members[$0].keyPosition } }

    /// Parses a document. Malformed TOML is a `TOMLParseError` with the description and place toml++ gives.
    package static func parse(_ text: String) throws(TOMLParseError) -> TOMLTable {
        var bytes = Array(text.utf8)
        let count = bytes.count
        bytes.append(0)
        guard let document = bytes.withUnsafeBufferPointer({ buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { ctoml_parse($0, count) }
        }) else {
            throw TOMLParseError(.outOfMemory, line: 0, column: 0)
        }
        defer { ctoml_free(document) }
        if ctoml_failed(document) != 0 {
            throw TOMLParseError(
                document: document, line: Int(ctoml_error_line(document)), column: Int(ctoml_error_column(document)))
        }
        let nodes = UnsafeBufferPointer(start: ctoml_nodes(document), count: ctoml_node_count(document))
        var cursor = 0
        guard !nodes.isEmpty, let root = Self.read(nodes, &cursor).table else { return TOMLTable(members: []) }
        return root
    }

    /// Builds the value at `cursor` (and its children), leaving `cursor` after them.
    private static func read(_ nodes: UnsafeBufferPointer<ctoml_node>, _ cursor: inout Int) -> TOMLValue {
        let node = nodes[cursor]
        cursor += 1
        let position = TOMLPosition(line: Int(node.line), column: Int(node.column))
        func text(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String {
            guard let pointer, length > 0 else { return "" }
            return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
            }
        }
        let content: TOMLValue.Content
        switch ctoml_kind(rawValue: UInt32(bitPattern: node.kind)) {
        case CTOML_TABLE:
            var members: [Member] = []
            members.reserveCapacity(Int(node.count))
            for _ in 0..<Int(node.count) where cursor < nodes.count {
                let child = nodes[cursor]
                let key = text(child.key, child.key_length)
                let keyPosition = TOMLPosition(line: Int(child.key_line), column: Int(child.key_column))
                members.append(Member(key: key, keyPosition: keyPosition, value: read(nodes, &cursor)))
            }
            content = .table(TOMLTable(members: members))
        case CTOML_ARRAY:
            var elements: [TOMLValue] = []
            elements.reserveCapacity(Int(node.count))
            for _ in 0..<Int(node.count) where cursor < nodes.count { elements.append(read(nodes, &cursor)) }
            content = .array(elements)
        case CTOML_INTEGER: content = .int(Int(node.integer))
        case CTOML_FLOAT: content = .double(node.real)
        case CTOML_BOOLEAN: content = .bool(node.boolean != 0)
        case CTOML_DATE: content = .date(text(node.text, node.text_length))
        case CTOML_TIME: content = .time(text(node.text, node.text_length))
        case CTOML_DATE_TIME: content = .dateTime(text(node.text, node.text_length))
        default: content = .string(text(node.text, node.text_length))
        }
        return TOMLValue(content: content, position: position)
    }
}

/// Text that is not valid TOML 1.0, or a document the reader could not process: why, and where
/// (1-based; line 0 when the place is unknown). Callers match on `reason`; the one translation
/// into what an operator reads is `TOMLParseError.agentError(file:)` (INVALID_CONFIG).
package struct TOMLParseError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Reason: Sendable, Equatable {
        /// Not valid TOML 1.0; toml++'s own description ("expected '=' ...").
        case syntax(String)
        /// A table header whose name starts with a character no key starts with (`[:x]`).
        case invalidTableHeader
        /// One of toml++'s consistency checks failed on malformed input (a date cut by quotes).
        case parserCheckFailed
        /// A value of a type the reader does not hand over (none in TOML 1.0).
        case unsupportedValueType
        /// Memory ran out while reading the document.
        case outOfMemory
    }

    package var reason: Reason
    package var line: Int
    package var column: Int

    package init(_ reason: Reason, line: Int, column: Int) {
        self.reason = reason
        self.line = line
        self.column = column
    }

    /// The refusal `ctoml_parse` recorded in `document`.
    init(document: OpaquePointer, line: Int, column: Int) {
        let text = String(cString: ctoml_error_description(document))
        let reason: Reason
        switch ctoml_error_kind(rawValue: UInt32(bitPattern: ctoml_error_reason(document))) {
        case CTOML_ERROR_TABLE_HEADER: reason = .invalidTableHeader
        case CTOML_ERROR_PARSER_CHECK: reason = .parserCheckFailed
        case CTOML_ERROR_VALUE_TYPE: reason = .unsupportedValueType
        case CTOML_ERROR_OUT_OF_MEMORY: reason = .outOfMemory
        default: reason = .syntax(text.isEmpty ? "not valid TOML" : text)
        }
        self.init(reason, line: line, column: column)
    }

    package var position: TOMLPosition { TOMLPosition(line: line, column: column) }

    /// Why, in words: toml++'s description for a syntax error, else the reader's own.
    package var description: String {
        switch reason {
        case .syntax(let text): return text
        case .invalidTableHeader: return "a table header's name must start with a letter, digit, '_', '-' or a quote"
        case .parserCheckFailed: return "the TOML parser could not make sense of the document (check every table header, date and time)"
        case .unsupportedValueType: return "a value of a type this agent does not read"
        case .outOfMemory: return "the TOML document could not be processed (out of memory)"
        }
    }
}
