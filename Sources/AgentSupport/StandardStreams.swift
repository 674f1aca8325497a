#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Unbuffered writes to the standard streams, safe from any thread.
public enum StandardStreams {
    public static func writeError(_ text: String) {
        write(fd: 2, text)
    }

    public static func writeOutput(_ text: String) {
        write(fd: 1, text)
    }

    /// True when the file descriptor is a terminal (progress lines go there).
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    private static func write(fd: Int32, _ text: String) {
        var t = text
        t.withUTF8 { buf in
            var offset = 0
            while offset < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + offset, buf.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }
}
