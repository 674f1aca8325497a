import Logging
import Synchronization

/// A swift-log handler that keeps every event (message, level, merged metadata) for a test to read.
public struct CapturingLogHandler: LogHandler {
    public struct Event: Sendable {
        public var message: String
        public var level: Logger.Level
        public var metadata: Logger.Metadata
    }

    public final class Events: Sendable {
        let list = Mutex<[Event]>([])
        public init() {}
        public var all: [Event] { list.withLock { $0 } }
    }

    /// A logger whose events land in `events`.
    public static func logger(_ events: Events) -> Logger {
        Logger(label: "test") { _ in CapturingLogHandler(events: events) }
    }

    let events: Events
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public init(events: Events) { self.events = events }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        events.list.withLock { $0.append(Event(message: "\(event.message)", level: event.level, metadata: merged)) }
    }
}
