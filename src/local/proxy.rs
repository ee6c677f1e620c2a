//! The site as a browser on this machine reaches it under `chatctl local`.
//!
//! On AWS one CloudFront address serves the site and routes `/api/*` to the
//! HTTP API. The emulator's distribution cannot stand in for it: it answers
//! only requests carrying its domain in `Host` (a browser cannot set it),
//! does not dial the HTTP API's AWS-owned domain, and refuses the private
//! bucket's objects under the bucket policy's TLS-only statement (measured
//! with ministack 1.5.33: 403 even with the right `Host`). So this proxy on
//! 127.0.0.1 does CloudFront's routing itself: `/api/*` to the HTTP API's
//! emulator path, everything else to the site bucket's path-style URL, with
//! the distribution's default root object (`index.html`).

use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderValue, HOST};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::error::{Error, Result};
use crate::template::origin::{ORIGIN_VERIFY_HEADER, VIEWER_ADDRESS_HEADER};

/// Where the proxy sends requests.
#[derive(Debug, Clone)]
pub struct Routes {
    pub emulator_port: u16,
    pub site_bucket: String,
    pub http_api_id: String,
    /// The secret header CloudFront adds to what it forwards to the HTTP
    /// API (`template::origin`), which the proxy adds in its place, with
    /// the viewer's address.
    pub origin_verify: Option<String>,
}

impl Routes {
    /// The emulator URL and `Host` header for a request path (with query).
    pub fn target(&self, path_and_query: &str) -> (String, String) {
        let emulator = format!("127.0.0.1:{}", self.emulator_port);
        if path_and_query.starts_with("/api/") {
            (
                format!(
                    "http://{emulator}/_aws/execute-api/{}/$default{path_and_query}",
                    self.http_api_id
                ),
                emulator,
            )
        } else {
            // The default root object, for the site root and any directory.
            let (path, query) = match path_and_query.split_once('?') {
                Some((path, query)) => (path, format!("?{query}")),
                None => (path_and_query, String::new()),
            };
            let index = if path.ends_with('/') {
                "index.html"
            } else {
                ""
            };
            (
                format!("http://{emulator}/{}{path}{index}{query}", self.site_bucket),
                emulator,
            )
        }
    }
}

type Body = Full<Bytes>;

/// Whether the proxy on `port` serves this request; the refusal otherwise.
/// A web page the developer visits can make the browser send requests here
/// (and, with DNS rebinding, under its own host name): only this machine's
/// own names are answered, the bucket is read-only (GET and HEAD; a PUT
/// through the proxy replaced the site's script before), and paths cannot
/// climb out of the bucket with `..` or encoded separators.
pub fn admit(
    port: u16,
    method: &hyper::Method,
    host: Option<&str>,
    path_and_query: &str,
) -> std::result::Result<(), (StatusCode, String)> {
    let own = [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ];
    if !host.is_some_and(|h| own.iter().any(|o| o.eq_ignore_ascii_case(h))) {
        return Err((
            StatusCode::FORBIDDEN,
            format!("this proxy serves only http://127.0.0.1:{port}/ and http://localhost:{port}/"),
        ));
    }
    let path = path_and_query.split('?').next().unwrap_or("");
    let lowered = path.to_ascii_lowercase();
    let climbs = path.split('/').any(|segment| segment == "..")
        || ["%2e%2e", "%2f", "%5c", "\\"]
            .iter()
            .any(|bad| lowered.contains(bad));
    if climbs {
        return Err((
            StatusCode::BAD_REQUEST,
            "paths may not contain `..` or encoded separators".to_string(),
        ));
    }
    let reads = matches!(*method, hyper::Method::GET | hyper::Method::HEAD);
    if !path.starts_with("/api/") && !reads {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            "the site is read-only: GET and HEAD".to_string(),
        ));
    }
    Ok(())
}

/// Serves until the process is stopped.
pub async fn serve(port: u16, routes: Routes) -> Result<()> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| Error::failed(format!("cannot listen on {address}: {e}")))?;
    let client: Client<_, Body> = Client::builder(TokioExecutor::new())
        .build(hyper_util::client::legacy::connect::HttpConnector::new());
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let (client, routes) = (client.clone(), routes.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                forward(client.clone(), routes.clone(), port, peer, request)
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                eprintln!("connection: {e}");
            }
        });
    }
}

async fn forward(
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Body>,
    routes: Routes,
    port: u16,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> std::result::Result<Response<Body>, std::convert::Infallible> {
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let host = request.headers().get(HOST).and_then(|h| h.to_str().ok());
    if let Err((status, why)) = admit(port, request.method(), host, &path) {
        return Ok(plain(status, why));
    }
    let (url, host) = routes.target(&path);
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return Ok(plain(StatusCode::BAD_REQUEST, format!("request body: {e}"))),
    };
    let mut outgoing = Request::builder().method(parts.method).uri(&url);
    let secret = routes
        .origin_verify
        .as_deref()
        .filter(|_| path.starts_with("/api/"));
    for (name, value) in &forwarded_headers(&parts.headers, peer, secret) {
        outgoing = outgoing.header(name, value);
    }
    let outgoing = outgoing.header(HOST, host).body(Full::new(body));
    let outgoing = match outgoing {
        Ok(outgoing) => outgoing,
        Err(e) => return Ok(plain(StatusCode::BAD_REQUEST, format!("request: {e}"))),
    };
    let answer = match client.request(outgoing).await {
        Ok(answer) => answer,
        Err(e) => {
            return Ok(plain(
                StatusCode::BAD_GATEWAY,
                format!("the emulator did not answer ({e}); is `chatctl local up` running?"),
            ))
        }
    };
    let (parts, body) = answer.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return Ok(plain(
                StatusCode::BAD_GATEWAY,
                format!("response body: {e}"),
            ))
        }
    };
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// The headers sent on, as CloudFront sends them: the client's own without
/// `Host` and without its copies of the two headers CloudFront sets (it
/// overwrites them), then, toward the HTTP API (`secret` given), the secret
/// and the viewer's `address:port`.
fn forwarded_headers(incoming: &HeaderMap, peer: SocketAddr, secret: Option<&str>) -> HeaderMap {
    let set_by_cloudfront = [ORIGIN_VERIFY_HEADER, VIEWER_ADDRESS_HEADER];
    let mut headers = HeaderMap::new();
    for (name, value) in incoming {
        let cloudfronts = set_by_cloudfront
            .iter()
            .any(|own| name.as_str().eq_ignore_ascii_case(own));
        if name != HOST && !cloudfronts {
            headers.append(name, value.clone());
        }
    }
    if let Some(secret) = secret {
        let pairs = [
            (ORIGIN_VERIFY_HEADER, secret.to_string()),
            (VIEWER_ADDRESS_HEADER, peer.to_string()),
        ];
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }
    headers
}

fn plain(status: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machines_names_read_only_site_and_no_climbing() {
        use hyper::Method;
        let ok = |method: Method, host: &str, path: &str| admit(8080, &method, Some(host), path);
        assert!(ok(Method::GET, "127.0.0.1:8080", "/index.html").is_ok());
        assert!(ok(Method::HEAD, "localhost:8080", "/rooms/general.html").is_ok());
        assert!(ok(
            Method::POST,
            "127.0.0.1:8080",
            "/api/rooms/general/messages"
        )
        .is_ok());
        let status = |r: std::result::Result<(), (StatusCode, String)>| r.err().map(|e| e.0);
        assert_eq!(
            status(ok(Method::GET, "evil.example:8080", "/index.html")),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            status(admit(8080, &Method::GET, None, "/")),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            status(ok(Method::GET, "127.0.0.1:9999", "/")),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            status(ok(Method::PUT, "127.0.0.1:8080", "/app.js")),
            Some(StatusCode::METHOD_NOT_ALLOWED)
        );
        assert_eq!(
            status(ok(Method::DELETE, "127.0.0.1:8080", "/index.html")),
            Some(StatusCode::METHOD_NOT_ALLOWED)
        );
        for climb in ["/../other-bucket/x", "/a/%2e%2e/b", "/a%2Fb", "/a%5cb"] {
            assert_eq!(
                status(ok(Method::GET, "127.0.0.1:8080", climb)),
                Some(StatusCode::BAD_REQUEST),
                "{climb}"
            );
        }
    }

    #[test]
    fn the_api_gets_cloudfronts_headers_and_never_the_clients_copies() {
        let mut incoming = HeaderMap::new();
        for (name, value) in [
            ("host", "127.0.0.1:8080"),
            ("content-type", "application/json"),
            ("x-origin-verify", "guessed"),
            ("cloudfront-viewer-address", "203.0.113.9:1"),
        ] {
            incoming.insert(name, HeaderValue::from_static(value));
        }
        let peer: SocketAddr = "127.0.0.1:53124".parse().expect("address");
        let api = forwarded_headers(&incoming, peer, Some("s3cr3t"));
        assert_eq!(api["x-origin-verify"], "s3cr3t");
        assert_eq!(api["cloudfront-viewer-address"], "127.0.0.1:53124");
        assert_eq!(api["content-type"], "application/json");
        assert!(api.get("host").is_none(), "the proxy sets the emulator's");
        let site = forwarded_headers(&incoming, peer, None);
        assert!(site.get("x-origin-verify").is_none());
        assert!(site.get("cloudfront-viewer-address").is_none());
        assert_eq!(site.len(), 1);
    }

    #[test]
    fn api_paths_go_to_the_http_api_and_the_rest_to_the_site_bucket() {
        let routes = Routes {
            emulator_port: 4566,
            site_bucket: "site-bucket".into(),
            http_api_id: "abc".into(),
            origin_verify: None,
        };
        assert_eq!(
            routes.target("/api/rooms/general/messages?limit=5"),
            (
                "http://127.0.0.1:4566/_aws/execute-api/abc/$default/api/rooms/general/messages?limit=5".to_string(),
                "127.0.0.1:4566".to_string()
            )
        );
        assert_eq!(
            routes.target("/rooms/general.html"),
            (
                "http://127.0.0.1:4566/site-bucket/rooms/general.html".to_string(),
                "127.0.0.1:4566".to_string()
            )
        );
        assert_eq!(
            routes.target("/?room=x").0,
            "http://127.0.0.1:4566/site-bucket/index.html?room=x"
        );
    }
}
