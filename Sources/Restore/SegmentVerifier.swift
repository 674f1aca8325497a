import Hashing
import Vault

/// Hashes a file's bytes as they stream past, in file order, and compares every segment (the
/// whole file, or each upload part) with the manifest's SHA-256 (or the whole file's CRC-32C) as
/// soon as the segment ends.
/// Memory stays constant: only the running digest is kept.
public final class SegmentVerifier {
    public let segments: [OffsiteManifest.Segment]
    private var index = 0
    private var filled: Int64 = 0
    private let digest = Digest(.sha256)
    private var crc = CRC32C.empty
    /// Indices of the segments whose hash differed from the manifest's.
    public private(set) var mismatches: [Int] = []
    /// Segments that had no expected hash to compare with.
    public private(set) var unchecked = 0

    public init(segments: [OffsiteManifest.Segment]) {
        self.segments = segments
        closeEmptySegments()
    }

    /// Bytes consumed so far (the file offset the next `update` continues at).
    public var position: Int64 {
        index < segments.count ? segments[index].offset + filled : (segments.last.map { $0.offset + $0.length } ?? 0)
    }

    public var isComplete: Bool { index >= segments.count }

    /// Feeds the next bytes of the file; bytes beyond the last segment are ignored.
    public func update(_ buffer: UnsafeRawBufferPointer) {
        var rest = buffer
        while !rest.isEmpty, index < segments.count {
            let room = Int(segments[index].length - filled)
            let take = min(room, rest.count)
            let chunk = UnsafeRawBufferPointer(rebasing: rest[0..<take])
            if segments[index].crc32c != nil {
                crc = CRC32C.update(crc, chunk)
            } else {
                digest.update(chunk)
            }
            filled += Int64(take)
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
            if filled == segments[index].length { closeSegment() }
        }
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    private func closeSegment() {
        let actual = digest.finalize().hexString
        let actualCRC = crc
        crc = CRC32C.empty
        if let expected = segments[index].crc32c {
            if actualCRC != expected { mismatches.append(index) }
        } else if let expected = segments[index].sha256 {
            if actual != expected { mismatches.append(index) }
        } else {
            unchecked += 1
        }
        filled = 0
        index += 1
        closeEmptySegments()
    }

    private func closeEmptySegments() {
        if index < segments.count, segments[index].length == 0 { closeSegment() }
    }
}
