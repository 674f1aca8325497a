import Testing

@testable import SigV4

/// Runs a fixture case through the signer with the inputs its `context.json` gives.
extension FixtureCase {
    var signer: SigV4Signer {
        SigV4Signer(
            credentials: SigningCredentials(
                accessKeyID: context.credentials.accessKeyId,
                secretAccessKey: context.credentials.secretAccessKey,
                sessionToken: context.credentials.token),
            region: context.region, service: context.service)
    }

    func signHeaders() throws -> SignedHeaders {
        signer.sign(
            method: request.method, path: request.path, query: request.query, headers: request.headers,
            payloadHash: payloadHash, date: try date(), addContentSHA256Header: context.signBody,
            omitSessionToken: context.omitSessionToken)
    }

    func presign() throws -> PresignedQuery {
        signer.presign(
            method: request.method, path: request.path, query: request.query, headers: request.headers,
            expires: try #require(context.expirationInSeconds, "\(name): query variant without expiry"),
            date: try date(), payloadHash: payloadHash, omitSessionToken: context.omitSessionToken)
    }
}
