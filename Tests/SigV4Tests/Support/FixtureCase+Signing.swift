import Testing

@testable import SigV4

/// Runs a fixture case through the signer with the inputs its `context.json` gives.
extension FixtureCase {
    var signer: SigV4Signer {
        SigV4Signer(
            credentials: SigningCredentials(
                accessKeyID: context.credentials.access_key_id,
                secretAccessKey: context.credentials.secret_access_key,
                sessionToken: context.credentials.token),
            region: context.region, service: context.service)
    }

    func signHeaders() throws -> SignedHeaders {
        signer.sign(
            method: request.method, path: request.path, query: request.query, headers: request.headers,
            payloadHash: payloadHash, date: try date(), addContentSHA256Header: context.sign_body,
            omitSessionToken: context.omit_session_token)
    }

    func presign() throws -> PresignedQuery {
        signer.presign(
            method: request.method, path: request.path, query: request.query, headers: request.headers,
            expires: try #require(context.expiration_in_seconds, "\(name): query variant without expiry"),
            date: try date(), payloadHash: payloadHash, omitSessionToken: context.omit_session_token)
    }

    /// With `omit_session_token` the token travels unsigned: the caller adds it after signing,
    /// as the fixtures' signed requests show.
    var tokenAddedAfterSigning: String? {
        context.omit_session_token ? context.credentials.token : nil
    }
}
