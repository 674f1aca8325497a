import AgentSupport
import Foundation
import HTTPTransport
import Testing

/// The bandwidth timetable applied to a transfer already running, with an injected clock: a PUT
/// held to 128 KiB/s speeds up once the clock passes the boundary where the table says "off".
@Suite struct BandwidthTimetableTransferTests {
    /// A one-shot HTTP server on loopback: reads one request with its body, answers 200.
    final class SinkServer: @unchecked Sendable {
        let port: Int
        private let listener: Int32
        private(set) var received = 0

        init() throws {
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            self.listener = listener
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, len) } }
            _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
            port = Int(UInt16(bigEndian: addr.sin_port))
            listen(listener, 1)
            let thread = Thread { [self] in serve() }
            thread.start()
        }

        private func serve() {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            defer { close(fd) }
            var data = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 65536)
            var expected: Int?
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                data += buffer[0..<n]
                if expected == nil, let end = String(decoding: data, as: UTF8.self).range(of: "\r\n\r\n") {
                    let head = String(decoding: data, as: UTF8.self)[..<end.lowerBound]
                    let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                        .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                    expected = String(decoding: data, as: UTF8.self)[..<end.upperBound].utf8.count + length
                }
                if let expected, data.count >= expected {
                    received = expected
                    break
                }
            }
            let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            _ = send(fd, answer, answer.count, 0)
        }

        deinit { close(listener) }
    }

    @Test func aRunningTransferFollowsTheTimetableAcrossABoundary() throws {
        let server = try SinkServer()
        let table = try BandwidthTimetable.parse("00:00,128KiB/s 12:00,off").get()
        // Local 11:00 and 12:30 of today, whatever the time zone.
        let today = Timestamp.now() - Int64(BandwidthTimetable.minuteOfWeek(Timestamp.now()) % 1440) * 60
        let morning = today + 11 * 3600
        let noon = today + 12 * 3600 + 1800
        #expect(table.rate(at: morning) == 128 << 10)
        #expect(table.rate(at: noon) == 0)

        let http = HTTPClient()
        var now = morning
        http.clock = { now }
        http.bandwidthTimetable = table
        var changes: [(rate: Int64, inFlight: Int)] = []
        http.onBandwidthChange = { changes.append(($0, http.activeCount)) }
        let started = monotonicSeconds()
        http.tickInterval = 0.2
        http.onTick = { if monotonicSeconds() - started > 1 { now = noon } }

        let body = [UInt8](repeating: 0x61, count: 2 << 20)  // 16 s at 128 KiB/s
        let request = HTTPRequest(method: "PUT", url: "http://127.0.0.1:\(server.port)/object", body: .bytes(body))
        let result = http.execute(request)
        let elapsed = monotonicSeconds() - started

        guard case .success(let response) = result else {
            Issue.record("the PUT failed: \(result)")
            return
        }
        #expect(response.status == 200)
        #expect(changes.map(\.rate) == [128 << 10, 0])
        #expect(changes.last?.inFlight == 1)  // "off" reached the transfer while it was running
        #expect(elapsed < 10)  // held at 128 KiB/s throughout, 2 MiB would take about 16 s
    }
}
