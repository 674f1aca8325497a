#if canImport(Glibc)
    import Glibc
#endif

/// Runs a local program (`systemctl`, `timedatectl`, `crontab`) for a read-only question: its
/// exit status and the start of its standard output, or nil when it cannot be run. Bounded:
/// 64 KiB of output, `timeout` seconds, then it is killed.
public struct LocalCommand: Sendable {
    public var run: @Sendable (_ program: String, _ arguments: [String]) -> (status: Int32, output: String)?

    public init(run: @escaping @Sendable (_ program: String, _ arguments: [String]) -> (status: Int32, output: String)?) {
        self.run = run
    }

    /// The real thing, searching `PATH` (plus the sbin directories) for `program`.
    public static let system = LocalCommand { program, arguments in spawn(program, arguments, timeout: 5) }

    static func find(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        let path = (getenv("PATH").map { String(cString: $0) } ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    static func spawn(_ program: String, _ arguments: [String], timeout: Double) -> (status: Int32, output: String)? {
        guard let path = find(program) else { return nil }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        // A fixed, minimal environment: the C locale, so the output is the program's plain words.
        let environment: [String] = ["LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0"]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { for e in envp { free(e) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            return nil
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = monotonic() + timeout
        var pfd = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
        while output.count < 65536 {
            let left = deadline - monotonic()
            if left <= 0 { break }
            pfd.revents = 0
            let ready = poll(&pfd, 1, Int32(left * 1000))
            if ready < 0, errno == EINTR { continue }
            if ready <= 0 { break }
            let n = read(fds[0], &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            output += buffer[0..<n]
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if monotonic() >= deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                return nil
            }
            usleep(10_000)
        }
        let exited = (status & 0x7F) == 0
        return (exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F), String(decoding: output, as: UTF8.self))
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
