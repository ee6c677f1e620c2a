//! The user pool over the network: its JWKS, cached for the life of the
//! process (a WebSocket `$connect` is never cached by API Gateway, so every
//! handshake verifies here, and must not wait on a fetch), and its token
//! endpoint, which turns a hosted-UI code into tokens.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;
use tokio::sync::Mutex;

use super::{AuthSettings, KeySource, Verifier};

/// A pool endpoint that does not answer within this fails the request.
const TIMEOUT: Duration = Duration::from_secs(5);
/// A token naming an unknown key fetches the JWKS again at most this often,
/// so forged key ids cannot make every request fetch.
const REFRESH_EVERY: Duration = Duration::from_secs(60);

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// HTTPS to Cognito (and plain HTTP to an emulator's base URL, which the
/// settings allow only through `COGNITO_ENDPOINT_OVERRIDE`).
#[derive(Clone)]
pub struct CognitoHttp {
    client: Client<Https, Full<Bytes>>,
}

impl Default for CognitoHttp {
    fn default() -> Self {
        CognitoHttp::new()
    }
}

impl CognitoHttp {
    /// A client trusting the system's root certificates; without any (a
    /// broken image), every request fails its TLS handshake, with this logged,
    /// rather than the function failing to start.
    pub fn new() -> CognitoHttp {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(TIMEOUT));
        let provider = || rustls::crypto::ring::default_provider();
        let tls = match hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider())
        {
            Ok(builder) => builder,
            Err(e) => {
                tracing::error!(error = %e, "no root certificates");
                let config = rustls::ClientConfig::builder_with_provider(provider().into())
                    .with_safe_default_protocol_versions()
                    .map(|b| {
                        b.with_root_certificates(rustls::RootCertStore::empty())
                            .with_no_client_auth()
                    })
                    .unwrap_or_else(|_| unreachable!("ring has TLS 1.2 and 1.3"));
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
            }
        };
        let tls = tls.https_or_http().enable_http1().wrap_connector(http);
        CognitoHttp {
            client: Client::builder(hyper_util::rt::TokioExecutor::new()).build(tls),
        }
    }

    async fn send(&self, request: http::Request<Full<Bytes>>) -> Result<(u16, Bytes), String> {
        let answer = tokio::time::timeout(TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| "no answer in time".to_string())?
            .map_err(|e| e.to_string())?;
        let status = answer.status().as_u16();
        let body = tokio::time::timeout(TIMEOUT, answer.into_body().collect())
            .await
            .map_err(|_| "no answer in time".to_string())?
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body))
    }

    async fn get(&self, url: &str) -> Result<(u16, Bytes), String> {
        let request = http::Request::get(url)
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        self.send(request).await
    }

    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<(u16, Bytes), String> {
        let body = serde_urlencoded::to_string(form).map_err(|e| e.to_string())?;
        let request = http::Request::post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        self.send(request).await
    }
}

/// The pool's JWKS, fetched on first use and kept.
pub struct Jwks {
    http: CognitoHttp,
    url: String,
    cached: Mutex<Option<(Arc<JwkSet>, Instant)>>,
}

impl Jwks {
    pub fn new(http: CognitoHttp, url: String) -> Jwks {
        Jwks {
            http,
            url,
            cached: Mutex::new(None),
        }
    }
}

impl KeySource for Jwks {
    async fn keys(&self, fresh: bool) -> Result<Arc<JwkSet>, String> {
        let mut cached = self.cached.lock().await;
        if let Some((keys, fetched)) = cached.as_ref() {
            if !fresh || fetched.elapsed() < REFRESH_EVERY {
                return Ok(keys.clone());
            }
        }
        let (status, body) = self.http.get(&self.url).await?;
        if status != 200 {
            return Err(format!("{} answered {status}", self.url));
        }
        let keys: JwkSet = serde_json::from_slice(&body)
            .map_err(|e| format!("{} is not a JWKS: {e}", self.url))?;
        let keys = Arc::new(keys);
        *cached = Some((keys.clone(), Instant::now()));
        Ok(keys)
    }
}

/// The live verifier, when the settings turn sign-in on.
pub fn verifier(settings: &crate::Settings) -> Option<Verifier<Jwks>> {
    let auth = settings.auth.clone()?;
    Some(Verifier {
        keys: Jwks::new(CognitoHttp::new(), auth.jwks_url.clone()),
        settings: auth,
    })
}

/// What the token endpoint answers for a code (with a refresh token) or
/// a refresh token (without one).
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    pub id_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// Turns a hosted-UI code, or a refresh token, into tokens.
pub trait CodeExchange: Sync {
    fn exchange(
        &self,
        auth: &AuthSettings,
        code: &str,
        verifier: &str,
    ) -> impl std::future::Future<Output = Result<Tokens, String>> + Send;

    fn refresh(
        &self,
        auth: &AuthSettings,
        refresh_token: &str,
    ) -> impl std::future::Future<Output = Result<Tokens, String>> + Send;
}

impl Jwks {
    /// One call to the pool's token endpoint.
    async fn token(&self, auth: &AuthSettings, form: &[(&str, &str)]) -> Result<Tokens, String> {
        let url = format!("{}/oauth2/token", auth.domain_url);
        let (status, body) = self.http.post_form(&url, form).await?;
        if status != 200 {
            let why = String::from_utf8_lossy(&body);
            return Err(format!(
                "the token endpoint answered {status}: {}",
                why.chars().take(200).collect::<String>()
            ));
        }
        serde_json::from_slice(&body).map_err(|e| format!("the token endpoint's answer: {e}"))
    }
}

impl CodeExchange for Jwks {
    async fn exchange(
        &self,
        auth: &AuthSettings,
        code: &str,
        verifier: &str,
    ) -> Result<Tokens, String> {
        let callback = auth.callback_url();
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", auth.client_id.as_str()),
            ("code", code),
            ("redirect_uri", callback.as_str()),
            ("code_verifier", verifier),
        ];
        self.token(auth, &form).await
    }

    async fn refresh(&self, auth: &AuthSettings, refresh_token: &str) -> Result<Tokens, String> {
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", auth.client_id.as_str()),
            ("refresh_token", refresh_token),
        ];
        self.token(auth, &form).await
    }
}
