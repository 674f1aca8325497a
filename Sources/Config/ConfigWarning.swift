import AgentSupport

/// Something `agent config check` reports without refusing the config: the agent works, but
/// an admin should fix it (a secret others can read, credentials sent in clear text).
public struct ConfigWarning: Sendable, Equatable {
    /// Stable machine code, e.g. `READABLE_BY_OTHERS`, `PLAIN_HTTP`.
    public var code: ErrorCode
    public var message: String
    public var hint: String

    public init(code: ErrorCode, message: String, hint: String) {
        self.code = code
        self.message = message
        self.hint = hint
    }
}
