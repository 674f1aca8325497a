/// The chunk indices of one file being restored (written, wanted, fetched). Chunks 0 to 63 are
/// bits of one word, so the many small files of a backup cost no allocation each; a larger
/// file's later chunks go to a `Set` (issue 19).
struct ChunkSet: Sequence, Equatable, ExpressibleByArrayLiteral {
    private var low: UInt64 = 0
    private var high: Set<Int> = []

    init() {}

    init<S: Sequence>(_ chunks: S) where S.Element == Int {
        for c in chunks { insert(c) }
    }

    init(arrayLiteral chunks: Int...) { self.init(chunks) }

    var isEmpty: Bool { low == 0 && high.isEmpty }
    var count: Int { low.nonzeroBitCount + high.count }

    func contains(_ c: Int) -> Bool {
        ChunkSet.inWord(c) ? low & (1 << UInt64(c)) != 0 : high.contains(c)
    }

    mutating func insert(_ c: Int) {
        if ChunkSet.inWord(c) { low |= 1 << UInt64(c) } else { high.insert(c) }
    }

    mutating func remove(_ c: Int) {
        if ChunkSet.inWord(c) { low &= ~(1 << UInt64(c)) } else { high.remove(c) }
    }

    mutating func subtract<S: Sequence>(_ chunks: S) where S.Element == Int {
        for c in chunks { remove(c) }
    }

    mutating func formUnion<S: Sequence>(_ chunks: S) where S.Element == Int {
        for c in chunks { insert(c) }
    }

    private static func inWord(_ c: Int) -> Bool { c >= 0 && c < 64 }

    /// The word's chunks in ascending order, then the others.
    struct Iterator: IteratorProtocol {
        var bits: UInt64
        var rest: Set<Int>.Iterator

        mutating func next() -> Int? {
            if bits != 0 {
                let c = bits.trailingZeroBitCount
                bits &= bits - 1
                return c
            }
            return rest.next()
        }
    }

    func makeIterator() -> Iterator { Iterator(bits: low, rest: high.makeIterator()) }
}
