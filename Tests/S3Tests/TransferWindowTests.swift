import Testing

@testable import S3

/// The scheduler's bound on out-of-order results: however long the frontier's result is held
/// back, at most `capacity` results are claimed past it, so memory stays flat.
@Test func orderedArrivalsBoundWhatWaitsBehindASlowResult() {
    var arrivals = OrderedArrivals<Int>(capacity: 3)
    var claimed: [Int] = []
    var next = 0
    while arrivals.mayClaim(next), next < 100 {
        claimed.append(next)
        next += 1
    }
    #expect(claimed == [0, 1, 2])
    // 1 and 2 arrive; 0 is held back: nothing can be consumed, nothing more claimed.
    arrivals.arrived(2, 20)
    arrivals.arrived(1, 10)
    #expect(arrivals.next() == nil)
    #expect(!arrivals.mayClaim(3))
    #expect(arrivals.waitingCount == 2)
    // 0 arrives: all three are consumed in order and three more may be claimed.
    arrivals.arrived(0, 0)
    var consumed: [Int] = []
    while let v = arrivals.next() { consumed.append(v) }
    #expect(consumed == [0, 10, 20])
    #expect(arrivals.frontier == 3)
    #expect(arrivals.mayClaim(5) && !arrivals.mayClaim(6))
}
