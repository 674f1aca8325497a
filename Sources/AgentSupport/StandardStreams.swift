import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Unbuffered writes to the standard streams, safe from any thread. A live progress line on a
/// terminal's stderr is cleared before any other output, so no line is ever glued onto it.
public enum StandardStreams {
    /// Whether a live line is drawn on stderr right now (cleared by the next other write).
    private static let liveLine = Mutex(false)

    public static func writeError(_ text: String) {
        liveLine.withLock { drawn in
            if drawn {
                write(fd: 2, "\r\u{1B}[K")
                drawn = false
            }
            write(fd: 2, text)
        }
    }

    public static func writeOutput(_ text: String) {
        liveLine.withLock { drawn in
            if drawn {
                write(fd: 2, "\r\u{1B}[K")
                drawn = false
            }
            write(fd: 1, text)
        }
    }

    /// Draws (or redraws) the live line on stderr: the terminal line is cleared first.
    public static func drawLiveLine(_ text: String) {
        liveLine.withLock { drawn in
            write(fd: 2, "\r\u{1B}[K" + text)
            drawn = true
        }
    }

    /// Removes the live line, if one is drawn.
    public static func clearLiveLine() {
        liveLine.withLock { drawn in
            if drawn { write(fd: 2, "\r\u{1B}[K") }
            drawn = false
        }
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
