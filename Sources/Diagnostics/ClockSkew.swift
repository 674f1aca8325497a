import AgentSupport
import S3
import SigV4

/// The local clock against the server's: a warning over a minute, a failure over the 15 minutes
/// S3 allows before it answers `RequestTimeTooSkewed`
/// (`<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>`, as in aws/aws-sdk-php#612).
public enum ClockSkew {
    public static let warnAfter: Int64 = 60
    public static let failAfter: Int64 = 15 * 60

    /// The server's time from an HTTP `Date` header (`Wed, 27 Apr 2016 15:51:39 GMT`).
    public static func serverTime(dateHeader: String?) -> Int64? {
        dateHeader.flatMap(AmzDate.parseHTTPDate)
    }

    /// "3 min 12 s": a duration in the units an operator reads.
    public static func describe(_ seconds: Int64) -> String { ClockSkewText.describe(seconds) }

    /// A request refused for its time (the shared mapping's `clockSkew`), reported under `check`:
    /// by how much and which way when the answer gives the server's time.
    public static func refusedFinding(_ error: S3ServiceError, local: Int64, check: CheckID = .clock, said: String) -> Finding {
        Finding(check, .fail, .clockSkew, ClockSkewText.refused(local: local, server: Refusal.serverTime(error), said: said), fix: ClockSkewText.fix)
    }

    /// The finding for `local` against `server` (seconds since the epoch); nil within a minute.
    /// `refused` says the server refused the request for it (`RequestTimeTooSkewed`).
    public static func finding(local: Int64, server: Int64, refused: Bool = false) -> Finding? {
        let skew = local - server
        guard abs(skew) > warnAfter || refused else { return nil }
        let offset = ClockSkewText.offset(local: local, server: server)
        if refused || abs(skew) > failAfter {
            let said = refused ? "The server refused the request as RequestTimeTooSkewed: this" : "This"
            return Finding(
                .clock, .fail, .clockSkew, "\(said) server's clock is \(offset); signed requests more than 15 min off are refused.", fix: ClockSkewText.fix)
        }
        return Finding(
            .clock, .warn, .clockSkew, "This server's clock is \(offset); requests are refused once it drifts past 15 min.", fix: ClockSkewText.fix)
    }
}
