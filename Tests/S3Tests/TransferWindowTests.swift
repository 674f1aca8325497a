import HTTPTransport
import Hashing
import SigV4
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

/// The window against a server that checks every signature (`rclone serve s3`): the bound on
/// requests in flight, progress told only for successes, and settled work run outside the
/// transfer callbacks with launching paused.
@Suite(.serialized) struct TransferWindowLiveTests {
    func client(_ server: LiveServer) throws -> S3Client {
        let location = S3Location(endpoint: server.endpoint, bucket: server.bucket, region: "us-east-1", pathStyle: true)!
        let creds = SigningCredentials(accessKeyID: server.accessKey, secretAccessKey: server.secretKey)
        let c = S3Client(http: HTTPClient(), location: location, credentials: creds, retry: RetryPolicy(maxAttempts: 2, baseDelay: 0.05))
        _ = try c.perform(S3Client.Operation(name: "CreateBucket", method: "PUT")).result.get()
        return c
    }

    func put(_ c: S3Client, _ key: String, _ body: [UInt8]) -> S3Client.Operation {
        c.putObjectOperation(key: key, body: .bytes(body), payloadHash: Digest.sha256(body).hexString)
    }

    @Test func atMostConcurrencyInFlightAndProgressForSuccessesOnly() throws {
        let server = try LiveServer.rclone()
        defer { server.stop() }
        let c = try client(server)
        let window = TransferWindow(client: c, concurrency: 3)
        var progressed: Int64 = 0
        window.onProgress = { progressed += $0 }
        let bodies = (0..<12).map { i in [UInt8](repeating: UInt8(i), count: 1000 + i) }
        var next = 0
        var mostInFlight = 0
        var stored = 0
        var missing: Result<HTTPResponse, S3Failure>?
        window.fill = { [unowned window] in
            while window.hasRoom, next < bodies.count {
                let i = next
                next += 1
                window.send(put(c, "f\(i)", bodies[i]), progress: Int64(bodies[i].count)) { result, _ in
                    if case .success = result { stored += 1 }
                }
                mostInFlight = max(mostInFlight, window.inFlight)
            }
        }
        // A GET that fails (no such key): its bytes are not progress.
        window.send(S3Client.Operation(name: "GetObject", method: "GET", key: "absent"), progress: 5000) { result, _ in missing = result }
        window.run(until: { next == bodies.count })
        window.fill = {}
        #expect(stored == bodies.count)
        #expect(mostInFlight == 3)
        #expect(window.inFlight == 0)
        #expect(progressed == bodies.reduce(0) { $0 + Int64($1.count) })
        if case .failure(let f)? = missing { #expect(f.serviceError?.status == 404) } else { Issue.record("the GET of an absent key did not fail: \(String(describing: missing))") }
    }

    @Test func settledWorkRunsOutsideTheCallbacksWithLaunchingPaused() throws {
        let server = try LiveServer.rclone()
        defer { server.stop() }
        let c = try client(server)
        let window = TransferWindow(client: c, concurrency: 4)
        var next = 0
        var settling = false
        var launchedWhileSettling = 0
        var verified: [String] = []
        window.fill = { [unowned window] in
            if settling { launchedWhileSettling += 1 }
            while window.hasRoom, next < 10 {
                let key = "s\(next)"
                let body = Array("body \(next)".utf8)
                next += 1
                window.send(put(c, key, body)) { result, _ in
                    guard case .success = result else { return }
                    window.settle {
                        settling = true
                        defer { settling = false }
                        // A blocking request of its own: the loop runs, others' answers arrive.
                        if let info = try? c.headObject(key: key), info.size == Int64(body.count) { verified.append(key) }
                    }
                }
            }
        }
        window.run(until: { next == 10 })
        window.fill = {}
        #expect(launchedWhileSettling == 0)
        #expect(verified.sorted() == (0..<10).map { "s\($0)" }.sorted())
    }
}
