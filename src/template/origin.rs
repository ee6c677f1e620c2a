//! How the http function tells a request CloudFront forwarded from one sent
//! straight to the HTTP API's `execute-api` address. The names here are the
//! contract between the template (`chat.yaml`), the http handler and
//! `chatctl local`'s site proxy, which stands in for CloudFront.

/// The header CloudFront adds to every request it forwards to the HTTP API
/// (`OriginCustomHeaders` in `chat.yaml`), holding `OriginVerifySecret`.
pub const ORIGIN_VERIFY_HEADER: &str = "X-Origin-Verify";

/// The http function's environment variable holding the secret.
pub const ORIGIN_VERIFY_VARIABLE: &str = "ORIGIN_VERIFY";

/// Set to `true` with `protection.waf`: a request without the secret is
/// refused, so no post goes around the web ACL.
pub const CLOUDFRONT_ONLY_VARIABLE: &str = "CLOUDFRONT_ONLY";

/// The viewer's `address:port`, which CloudFront adds when the origin
/// request policy names it (`ApiOriginRequestPolicy`); trusted only beside
/// the secret.
pub const VIEWER_ADDRESS_HEADER: &str = "CloudFront-Viewer-Address";
