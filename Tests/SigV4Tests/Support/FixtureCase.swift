import Foundation
import Hashing
import Testing

/// One folder of `Fixtures/sigv4`, loaded as README.md there describes it.
struct FixtureCase {
    /// The signing inputs of `context.json` (keys the tests use, camel-cased; the file has more).
    struct Context: Decodable {
        struct Credentials: Decodable {
            var accessKeyId: String
            var secretAccessKey: String
            var token: String?
        }

        var variants: [String]
        var credentials: Credentials
        var region: String
        var service: String
        var timestamp: String
        var normalize: Bool
        var doubleUriEncode: Bool
        var signBody: Bool
        var signedBodyValue: String?
        var omitSessionToken: Bool
        var expirationInSeconds: Int?
        var s3PathRulesCompatible: Bool
    }

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sigv4", isDirectory: true)

    let name: String
    let context: Context
    let request: HTTPRequestText

    init(_ name: String) throws {
        self.name = name
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        context = try decoder.decode(Context.self, from: try Self.data(name, "context.json"))
        request = try #require(HTTPRequestText(try Self.data(name, "request.txt")), "\(name)/request.txt")
    }

    /// An expected file's text, exactly as stored.
    func text(_ file: String) throws -> String {
        String(decoding: try Self.data(name, file), as: UTF8.self)
    }

    /// The signed request of a variant.
    func signedRequest(_ variant: String) throws -> HTTPRequestText {
        try #require(HTTPRequestText(try Self.data(name, "\(variant)-signed-request.txt")), "\(name)/\(variant)")
    }

    /// Signing time in seconds since the epoch.
    func date() throws -> Int64 {
        Int64(
            try #require(ISO8601DateFormatter().date(from: context.timestamp), "\(name) timestamp")
                .timeIntervalSince1970)
    }

    /// `signed_body_value`, or the hex SHA-256 of the body.
    var payloadHash: String {
        context.signedBodyValue ?? Digest.sha256(request.body).hexString
    }

    /// The case folders on disk.
    static func namesOnDisk() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { entry in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(
                    atPath: directory.appendingPathComponent(entry).path, isDirectory: &isDirectory)
                    && isDirectory.boolValue
            }
            .sorted()
    }

    private static func data(_ name: String, _ file: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(name).appendingPathComponent(file))
    }
}
