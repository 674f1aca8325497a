import HTTPTransport
import Hashing
import SigV4
import Testing

@testable import S3

/// The S3 client against servers that verify every signature: a wrong signer fails here.
@Suite(.serialized) struct S3ClientLiveTests {
    static let keys = [
        "plain.txt", "with space/and more spaces.bin", "plus+equals=tilde~star*(paren).tar", "ünïcödé/日本語 ファイル.gz", "dir/sub/deep/file",
    ]

    func client(_ server: LiveServer, secret: String? = nil, key: String? = nil) -> S3Client {
        let location = S3Location(endpoint: server.endpoint, bucket: server.bucket, region: "us-east-1", pathStyle: true)!
        let creds = SigningCredentials(accessKeyID: key ?? server.accessKey, secretAccessKey: secret ?? server.secretKey)
        return S3Client(http: HTTPClient(), location: location, credentials: creds, retry: RetryPolicy(maxAttempts: 2, baseDelay: 0.05))
    }

    func createBucket(_ c: S3Client) throws {
        _ = try c.perform(S3Client.Operation(name: "CreateBucket", method: "PUT")).result.get()
    }

    @Test(arguments: [true, false])
    func putHeadGetListDeleteWithEncodedKeys(signedPayload: Bool) throws {
        let server = try LiveServer.rclone()
        defer { server.stop() }
        let c = client(server)
        try createBucket(c)
        for (i, key) in Self.keys.enumerated() {
            let body = Array("content of \(key) #\(i)".utf8)
            let hash = signedPayload ? Digest.sha256(body).hexString : PayloadHash.unsigned
            let etag = try c.putObject(key: key, body: .bytes(body), payloadHash: hash, headers: [("Content-MD5", Digest.md5(body).base64String)])
            #expect(etag == Digest.md5(body).hexString)
            let info = try c.headObject(key: key)
            #expect(info.size == Int64(body.count))
            let got = try c.getObject(key: key)
            #expect(got.body == body)
            let ranged = try c.getObject(key: key, range: 0...3)
            #expect(ranged.body == Array(body.prefix(4)))
        }
        let listed = try c.listAllObjects(prefix: "").map(\.key).sorted()
        #expect(listed == Self.keys.sorted())
        for key in Self.keys { try c.deleteObject(key: key) }
        #expect(try c.listAllObjects(prefix: "").isEmpty)
    }

    @Test func multipartCreateUploadListCompleteAndAbort() throws {
        let server = try LiveServer.rclone()
        defer { server.stop() }
        let c = client(server)
        try createBucket(c)
        let key = "multi part/ü.bin"
        let part1 = [UInt8](repeating: 7, count: 5 << 20)
        let part2 = Array("tail".utf8)
        let id = try c.createMultipartUpload(key: key)
        var parts: [UploadedPart] = []
        for (n, body) in [(1, part1), (2, part2)] {
            let op = c.uploadPartOperation(key: key, uploadID: id, partNumber: n, body: .bytes(body), payloadHash: Digest.sha256(body).hexString)
            let response = try c.perform(op).result.get()
            parts.append(UploadedPart(number: n, etag: unquoteETag(response.header("ETag") ?? ""), size: Int64(body.count)))
        }
        let held = try c.listParts(key: key, uploadID: id)
        #expect(held.map(\.number) == [1, 2])
        #expect(held.map(\.etag) == parts.map(\.etag))
        _ = try c.completeMultipartUpload(key: key, uploadID: id, parts: parts)
        #expect(try c.headObject(key: key).size == Int64(part1.count + part2.count))

        let abandoned = try c.createMultipartUpload(key: "abandoned")
        #expect(try c.listMultipartUploads(prefix: "").contains { $0.uploadID == abandoned })
        try c.abortMultipartUpload(key: "abandoned", uploadID: abandoned)
        #expect(!(try c.listMultipartUploads(prefix: "").contains { $0.uploadID == abandoned }))
    }

    @Test func missingObjectIsA404WithoutRetries() throws {
        let server = try LiveServer.rclone()
        defer { server.stop() }
        let c = client(server)
        try createBucket(c)
        do {
            _ = try c.getObject(key: "nope")
            Issue.record("expected a failure")
        } catch {
            #expect(error.failure.serviceError?.status == 404)
            #expect(error.failure.serviceError?.code == "NoSuchKey")
            #expect(error.attempts.count == 1)
        }
    }

    @Test func motoAnswersWrongSecretWithSignatureDoesNotMatch() throws {
        let server = try LiveServer.moto()
        defer { server.stop() }
        let good = client(server)
        try good.putObject(key: "ok", body: .bytes([1, 2, 3]), payloadHash: Digest.sha256([1, 2, 3]).hexString)
        let bad = client(server, secret: server.secretKey + "x")
        do {
            _ = try bad.listObjectsV2(prefix: "")
            Issue.record("expected SignatureDoesNotMatch")
        } catch {
            #expect(error.failure.code == "SignatureDoesNotMatch")
            #expect(error.failure.isAuthenticationFailure)
            #expect(error.attempts.count == 1, "authentication failures are never retried")
        }
    }

    @Test func motoAnswersUnknownKeyWithInvalidAccessKeyId() throws {
        let server = try LiveServer.moto()
        defer { server.stop() }
        let unknown = client(server, key: "AKIAUNKNOWNKEY000000")
        do {
            _ = try unknown.listObjectsV2(prefix: "")
            Issue.record("expected InvalidAccessKeyId")
        } catch {
            #expect(error.failure.code == "InvalidAccessKeyId")
            #expect(error.attempts.count == 1)
        }
    }
}
