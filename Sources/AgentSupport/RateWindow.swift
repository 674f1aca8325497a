/// A transfer rate over the last `seconds`: samples of a monotonic byte counter.
public struct RateWindow: Sendable {
    public let seconds: Double
    public private(set) var samples: [(time: Double, bytes: Int64)] = []

    public init(seconds: Double) { self.seconds = seconds }

    public mutating func add(at time: Double, bytes: Int64) {
        samples.append((time, bytes))
        while samples.count > 2, let first = samples.first, time - first.time > seconds { samples.removeFirst() }
    }

    /// Bytes per second between the oldest and newest sample kept (0 until time has passed).
    public var rate: Double {
        guard let first = samples.first, let last = samples.last, last.time - first.time >= 0.5 else { return 0 }
        return Double(max(0, last.bytes - first.bytes)) / (last.time - first.time)
    }
}
