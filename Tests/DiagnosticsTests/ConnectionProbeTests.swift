import HTTPTransport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The probe behind the dns/connect checks, against loopback and the reserved `.invalid` TLD.
@Suite struct ConnectionProbeTests {
    func closedPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))  // closed again when fd closes
    }

    @Test func refusedPortIsConnectionRefused() throws {
        let r = ConnectionProbe.probe(url: "http://127.0.0.1:\(closedPort())/", options: TransferOptions())
        let error = try #require(r.error)
        #expect(error.kind == .connectionRefused)
    }

    @Test func unresolvableHostIsDNS() throws {
        let r = ConnectionProbe.probe(url: "http://s3.no-such-host.invalid/", options: TransferOptions())
        let error = try #require(r.error)
        #expect(error.kind == .dns)
    }
}
