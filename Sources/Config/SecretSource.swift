/// Where a vault's secret (or session token) is to be read from, as the config says.
enum SecretSource: Sendable {
    /// Written in the config itself.
    case value(String)
    /// `*_file`: a file holding the secret, one trailing newline ignored.
    case file(String)
    /// `*_env`: the name of an environment variable holding it.
    case environment(String)
}
