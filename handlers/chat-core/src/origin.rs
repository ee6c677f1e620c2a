//! Where an HTTP request comes from: through CloudFront or straight to the
//! API (the origin secret), from which client (the viewer's address beside
//! the secret), and from which site (`Sec-Fetch-Site`, `Origin`).

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;

/// The header CloudFront adds to what it forwards here, holding the
/// stack's origin secret (chatctl's `template::origin`).
pub const ORIGIN_VERIFY_HEADER: &str = "x-origin-verify";

/// The viewer's `address:port`, which CloudFront adds because the stack's
/// origin request policy names it.
pub const VIEWER_ADDRESS_HEADER: &str = "cloudfront-viewer-address";

/// Whether the request proves it came through CloudFront: it carries the
/// origin secret. Without a secret configured nothing is proved. Compared
/// as SHA-256 digests, so the time taken says nothing about how much of a
/// guess was right.
pub fn through_cloudfront(request: &ApiGatewayV2httpRequest, secret: Option<&str>) -> bool {
    use sha2::{Digest, Sha256};
    let Some(secret) = secret else {
        return false;
    };
    let given = request
        .headers
        .get(ORIGIN_VERIFY_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    Sha256::digest(given) == Sha256::digest(secret.as_bytes())
}

/// The client's address, as the limits and the logs count it. Through
/// CloudFront, API Gateway's source address is CloudFront's own, shared by
/// every viewer at one edge, so the viewer's comes from
/// `CloudFront-Viewer-Address`; that header is believed only beside the
/// origin secret, as anyone can send it straight to `execute-api`. A
/// missing or garbled one falls back to the source address: stricter,
/// never looser.
pub fn client_address(request: &ApiGatewayV2httpRequest, secret: Option<&str>) -> Option<String> {
    let source = request.request_context.http.source_ip.clone();
    if !through_cloudfront(request, secret) {
        return source;
    }
    request
        .headers
        .get(VIEWER_ADDRESS_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(viewer_ip)
        .map(|ip| ip.to_string())
        .or(source)
}

/// The address in CloudFront's `198.51.100.10:46532`, or its IPv6 form
/// without brackets (`2001:db8::1:46532`); brackets are accepted too.
fn viewer_ip(value: &str) -> Option<std::net::IpAddr> {
    let (address, port) = value.trim().rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    address
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Whether the browser says the post comes from another site: its
/// `Sec-Fetch-Site` (sent by every current browser, and not settable by a
/// page) is `cross-site` or `same-site`; or, from a browser too old to send
/// that, its `Origin` is not one of the site's own (`site_origins`, from
/// the stack: the distribution's domain and any custom domain). The room
/// page's own form is `same-origin`; tools such as curl send neither.
pub fn cross_site(request: &ApiGatewayV2httpRequest, site_origins: &[String]) -> bool {
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase())
    };
    match header("sec-fetch-site") {
        Some(site) => site == "cross-site" || site == "same-site",
        None => match header("origin") {
            // `null`: a sandboxed frame, a data: URL, a redirect across sites.
            Some(origin) if origin == "null" => true,
            Some(origin) => {
                !site_origins.is_empty()
                    && !site_origins
                        .iter()
                        .any(|own| own.eq_ignore_ascii_case(&origin))
            }
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::http::HeaderValue;

    fn request_with(headers: &[(&'static str, &str)], source: &str) -> ApiGatewayV2httpRequest {
        let mut request = ApiGatewayV2httpRequest::default();
        for (name, value) in headers {
            request
                .headers
                .insert(*name, HeaderValue::from_str(value).expect("header"));
        }
        request.request_context.http.source_ip = Some(source.to_string());
        request
    }

    #[test]
    fn only_the_secret_proves_a_request_came_through_cloudfront() {
        let with = |header: Option<&str>, secret: Option<&str>| {
            let headers: Vec<_> = header
                .map(|h| (ORIGIN_VERIFY_HEADER, h))
                .into_iter()
                .collect();
            through_cloudfront(&request_with(&headers, "192.0.2.1"), secret)
        };
        let secret = Some("s3cr3t-from-secrets-manager");
        assert!(with(Some("s3cr3t-from-secrets-manager"), secret));
        assert!(!with(None, secret), "straight to execute-api");
        assert!(!with(Some("s3cr3t"), secret), "a prefix is not the secret");
        assert!(!with(Some(""), secret));
        assert!(!with(Some("anything"), None), "no secret, nothing proved");
        assert!(!with(None, None));
    }

    #[test]
    fn the_viewer_address_counts_only_beside_the_secret() {
        let secret = Some("s3cr3t");
        let edge = "130.176.1.1"; // a CloudFront edge, shared by its viewers
        let through = |viewer: &str| {
            client_address(
                &request_with(
                    &[
                        (ORIGIN_VERIFY_HEADER, "s3cr3t"),
                        (VIEWER_ADDRESS_HEADER, viewer),
                    ],
                    edge,
                ),
                secret,
            )
        };
        assert_eq!(
            through("198.51.100.10:46532").as_deref(),
            Some("198.51.100.10")
        );
        assert_eq!(through("2001:db8::1:46532").as_deref(), Some("2001:db8::1"));
        assert_eq!(through("[2001:db8::2]:443").as_deref(), Some("2001:db8::2"));
        for garbled in ["198.51.100.10", "nonsense:1", "198.51.100.10:port", ""] {
            assert_eq!(through(garbled).as_deref(), Some(edge), "{garbled}");
        }
        // Straight to execute-api, a forged header changes nothing.
        let forged = request_with(&[(VIEWER_ADDRESS_HEADER, "203.0.113.7:1")], "192.0.2.9");
        assert_eq!(
            client_address(&forged, secret).as_deref(),
            Some("192.0.2.9")
        );
        let wrong = request_with(
            &[
                (ORIGIN_VERIFY_HEADER, "guess"),
                (VIEWER_ADDRESS_HEADER, "203.0.113.7:1"),
            ],
            "192.0.2.9",
        );
        assert_eq!(client_address(&wrong, secret).as_deref(), Some("192.0.2.9"));
        let unconfigured = request_with(
            &[
                (ORIGIN_VERIFY_HEADER, "s3cr3t"),
                (VIEWER_ADDRESS_HEADER, "203.0.113.7:1"),
            ],
            "192.0.2.9",
        );
        assert_eq!(
            client_address(&unconfigured, None).as_deref(),
            Some("192.0.2.9")
        );
    }

    #[test]
    fn posts_from_another_site_are_told_apart() {
        let own = vec![
            "https://d111.cloudfront.net".to_string(),
            "https://chat.example.com".to_string(),
        ];
        let with = |site: Option<&str>, origin: Option<&str>| {
            let mut request = ApiGatewayV2httpRequest::default();
            for (name, value) in [("sec-fetch-site", site), ("origin", origin)] {
                if let Some(value) = value {
                    request
                        .headers
                        .insert(name, HeaderValue::from_str(value).expect("header"));
                }
            }
            cross_site(&request, &own)
        };
        assert!(with(Some("cross-site"), None));
        assert!(with(Some("same-site"), None));
        assert!(!with(Some("same-origin"), None));
        assert!(!with(Some("none"), None));
        assert!(!with(None, None), "curl and other tools send neither");
        // A browser without Sec-Fetch-Site: its Origin decides.
        assert!(with(None, Some("https://evil.example")));
        assert!(with(None, Some("null")));
        assert!(!with(None, Some("https://chat.example.com")));
        assert!(!with(None, Some("HTTPS://D111.cloudfront.net")));
        // Sec-Fetch-Site, when sent, is the browser's word (it cannot be forged by a page).
        assert!(!with(
            Some("same-origin"),
            Some("https://elsewhere.example")
        ));
        // Without known origins, Origin alone refuses nothing.
        let mut request = ApiGatewayV2httpRequest::default();
        request
            .headers
            .insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(!cross_site(&request, &[]));
    }
}
