//! The sign-in cookies: `Secure`, `HttpOnly`, `SameSite=Lax`, with the
//! `__Host-` prefix (so only the site's own origin, over HTTPS, with
//! `Path=/` and no `Domain`, can set them).

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;

/// The session: the person's ID token, verified on every request.
pub const SESSION: &str = "__Host-chat-session";
/// The refresh token, for a new ID token when the session's hour is up.
pub const REFRESH: &str = "__Host-chat-refresh";
/// The app client's refresh tokens last 30 days.
pub const REFRESH_SECONDS: i64 = 30 * 86_400;
/// A sign-in under way: its state, PKCE verifier and where to go after.
pub const SIGN_IN: &str = "__Host-chat-sign-in";

/// How long a sign-in may take on the hosted UI.
pub const SIGN_IN_SECONDS: i64 = 600;

/// The value of cookie `name` in the request. HTTP APIs (payload 2.0) put
/// the `Cookie` header's parts in `cookies`; the emulator leaves them in
/// the header, so both are read.
pub fn read(request: &ApiGatewayV2httpRequest, name: &str) -> Option<String> {
    let from_header = request
        .headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::to_string)
        .collect::<Vec<_>>();
    let parts = request.cookies.iter().flatten().cloned().chain(from_header);
    for part in parts {
        if let Some((key, value)) = part.trim().split_once('=') {
            if key.trim() == name && !value.is_empty() {
                return Some(value.trim().to_string());
            }
        }
    }
    None
}

/// A `Set-Cookie` value that stores `value` for `max_age` seconds.
pub fn set(name: &str, value: &str, max_age: i64) -> String {
    format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age}")
}

/// A `Set-Cookie` value that removes cookie `name`.
pub fn clear(name: &str) -> String {
    format!("{name}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_events;

    #[test]
    fn cookies_are_read_from_the_http_apis_array_and_from_the_header() {
        let mut request =
            test_events::http("GET", "/api/auth/session", "203.0.113.7", &[], None).payload;
        assert_eq!(read(&request, SESSION), None);
        // API Gateway's payload 2.0 shape.
        request.cookies = Some(vec!["a=1".into(), format!("{SESSION}=tok.en")]);
        assert_eq!(read(&request, SESSION).as_deref(), Some("tok.en"));
        // The emulator's: the Cookie header as the browser sent it.
        request.cookies = None;
        request.headers.insert(
            "cookie",
            format!("a=1; {SIGN_IN}=s; {SESSION}=other")
                .parse()
                .expect("header"),
        );
        assert_eq!(read(&request, SESSION).as_deref(), Some("other"));
        assert_eq!(read(&request, SIGN_IN).as_deref(), Some("s"));
        assert_eq!(read(&request, "__Host-chat"), None, "whole names only");
        let cookie = set(SESSION, "v", 60);
        for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=60"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        assert!(clear(SESSION).ends_with("Max-Age=0"));
    }
}
