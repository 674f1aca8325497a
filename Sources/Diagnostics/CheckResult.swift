import AgentSupport

/// One check's outcome as reported: status, and for a warning or failure the code, what the
/// server said and what it means, and the exact fix.
public struct CheckResult: Sendable, Equatable {
    public var id: CheckID
    public var status: CheckStatus
    public var code: ErrorCode?
    public var explanation: String
    public var fix: String
    public var ms: Int

    public init(id: CheckID, status: CheckStatus, code: ErrorCode? = nil, explanation: String = "", fix: String = "", ms: Int = 0) {
        self.id = id
        self.status = status
        self.code = code
        self.explanation = explanation
        self.fix = fix
        self.ms = ms
    }
}

/// A diagnosis: which check owns it, how bad it is, and what to tell the operator.
public struct Finding: Sendable, Equatable {
    public var check: CheckID
    public var status: CheckStatus
    public var code: ErrorCode
    public var explanation: String
    public var fix: String

    public init(_ check: CheckID, _ status: CheckStatus, _ code: ErrorCode, _ explanation: String, fix: String) {
        self.check = check
        self.status = status
        self.code = code
        self.explanation = explanation
        self.fix = fix
    }
}

