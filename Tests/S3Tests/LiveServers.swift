import Foundation

/// Real S3 servers for the live tests: `rclone serve s3` (checks every SigV4 signature) and
/// moto with IAM enforcement (real InvalidAccessKeyId / SignatureDoesNotMatch answers).
final class LiveServer: @unchecked Sendable {
    let process: Process
    let endpoint: String
    let accessKey: String
    let secretKey: String
    let bucket: String
    private var stdinPipe: Pipe?
    private let dataDir: URL?

    private init(process: Process, endpoint: String, accessKey: String, secretKey: String, bucket: String, stdinPipe: Pipe?, dataDir: URL?) {
        self.process = process
        self.endpoint = endpoint
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.bucket = bucket
        self.stdinPipe = stdinPipe
        self.dataDir = dataDir
    }

    deinit { stop() }

    func stop() {
        if process.isRunning {
            stdinPipe?.fileHandleForWriting.closeFile()
            process.terminate()
            process.waitUntilExit()
        }
        if let dataDir { try? FileManager.default.removeItem(at: dataDir) }
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func waitForPort(_ port: Int, timeout: Double = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            close(fd)
            if rc == 0 { return }
            usleep(100_000)
        }
        throw LiveServerError.notReady("port \(port) did not open")
    }

    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// `rclone serve s3` over a fresh folder with a generated key; the bucket is created through the S3 API by the caller.
    static func rclone() throws -> LiveServer {
        guard let rclone = which("rclone") else { throw LiveServerError.notReady("rclone is not installed: run `make setup`") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rclone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let port = freePort()
        let access = "AKLIVE" + UUID().uuidString.prefix(8).uppercased()
        let secret = UUID().uuidString + UUID().uuidString
        let p = Process()
        p.executableURL = URL(fileURLWithPath: rclone)
        p.arguments = ["serve", "s3", "--auth-key", "\(access),\(secret)", "--addr", "127.0.0.1:\(port)", "--config", "/dev/null", dir.path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        try waitForPort(port)
        return LiveServer(process: p, endpoint: "http://127.0.0.1:\(port)", accessKey: access, secretKey: secret, bucket: "live-" + UUID().uuidString.prefix(8).lowercased(), stdinPipe: nil, dataDir: dir)
    }

    /// moto with IAM enforcement, through tests/support/moto_server.py.
    static func moto(actions: String = "s3:*") throws -> LiveServer {
        guard let python = which("python3") else { throw LiveServerError.notReady("python3 missing") }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../tests/support/moto_server.py").standardized.path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [script, "--actions", actions]
        let input = Pipe()
        let output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = FileHandle.nullDevice
        try p.run()
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0a]) { break }
            line.append(byte)
        }
        guard let json = try JSONSerialization.jsonObject(with: line) as? [String: Any], let endpoint = json["endpoint"] as? String,
            let access = json["access_key"] as? String, let secret = json["secret_key"] as? String, let bucket = json["bucket"] as? String
        else { throw LiveServerError.notReady("moto did not start: \(String(decoding: line, as: UTF8.self))") }
        return LiveServer(process: p, endpoint: endpoint, accessKey: access, secretKey: secret, bucket: bucket, stdinPipe: input, dataDir: nil)
    }
}

enum LiveServerError: Error { case notReady(String) }
