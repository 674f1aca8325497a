import HTTPTransport
import S3
import Vault

/// Ranged downloads (restore, `verify --deep`): the request, the check of its answer, the ranges of a file.
extension VaultSession {
    /// A ranged GetObject (`Range: bytes=offset-(offset+length-1)`) into `sink`, to be sent with `client.send`.
    func rangedGet(key: String, offset: Int64, length: Int64, sink: ResponseSink) -> S3Client.Operation {
        S3Client.Operation(name: "GetObject", method: "GET", key: key, headers: [("Range", "bytes=\(offset)-\(offset + length - 1)")], sink: sink)
    }

    /// Why a ranged answer cannot be used, or nil when it carries exactly the bytes asked for.
    /// Read leniently: some servers answer a range with 200 instead of 206, but name it in
    /// `Content-Range`; a 200 without `Content-Range` is the whole object, usable only when asked for.
    static func rangeProblem(_ response: HTTPResponse, offset: Int64, length: Int64, objectSize: Int64) -> String? {
        if let range = response.header("Content-Range") {
            let expected = "bytes \(offset)-\(offset + length - 1)/"
            if !range.hasPrefix(expected) { return "asked for bytes \(offset)-\(offset + length - 1), the server sent \(range)" }
        } else if response.status == 200 && !(offset == 0 && length == objectSize) {
            return "the server ignored the Range header (HTTP 200 with the whole object)"
        }
        if response.bodyLength != length {
            return "asked for \(length) bytes at offset \(offset), received \(response.bodyLength)"
        }
        return nil
    }

    /// Splits `size` bytes into ranges of at most `chunkSize`.
    static func chunks(size: Int64, chunkSize: Int64) -> [(offset: Int64, length: Int64)] {
        var out: [(offset: Int64, length: Int64)] = []
        var offset: Int64 = 0
        while offset < size {
            let length = min(chunkSize, size - offset)
            out.append((offset, length))
            offset += length
        }
        return out
    }
}
