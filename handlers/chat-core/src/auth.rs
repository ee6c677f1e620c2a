//! Sign-in with Amazon Cognito (`auth: { provider: cognito }` in
//! `chatctl.yaml`): who a request comes from, from a Cognito ID token.
//!
//! A token is accepted only when its RS256 signature checks against a key
//! of the user pool's JWKS (fetched once per process and again, at most
//! once a minute, when a token names a key the cached set lacks), its
//! `iss` is the pool, its `aud` the chat's app client, its `exp` is still
//! ahead and its `token_use` is `id`. The name a signed-in person chats
//! under is their Cognito user name, unique in the pool, so nobody else
//! can take it; members of the `moderators` group may moderate.

pub mod cognito;
pub mod cookies;

use std::future::Future;
use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::validate::validate_name;

/// The Cognito group whose members may delete any message and disconnect anyone.
pub const MODERATORS_GROUP: &str = "moderators";

/// Where the stack's user pool and app client are (the template sets them
/// when sign-in is on; `Settings::auth` is `None` otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// `https://cognito-idp.REGION.amazonaws.com/POOL_ID`: the tokens' `iss`.
    pub issuer: String,
    /// The app client: the ID tokens' `aud`.
    pub client_id: String,
    /// The pool's JWKS.
    pub jwks_url: String,
    /// The hosted sign-in domain (`https://PREFIX.auth.REGION.amazoncognito.com`):
    /// `/oauth2/authorize`, `/oauth2/token` and `/logout` are under it.
    pub domain_url: String,
    /// The site's own URL (`https://HOST`), for the redirect back after sign-in.
    pub site_url: String,
}

impl AuthSettings {
    /// The settings from the variables the template sets, `None` when
    /// sign-in is off. `endpoint_override` is the emulator's base URL
    /// (`COGNITO_ENDPOINT_OVERRIDE`), which serves the JWKS and the hosted
    /// UI on its own address: the one emulator-specific input.
    pub fn from_vars(
        variable: impl Fn(&str) -> Option<String>,
        endpoint_override: Option<&str>,
    ) -> Option<AuthSettings> {
        let set = |name: &str| variable(name).filter(|v| !v.is_empty());
        let issuer = set("AUTH_ISSUER")?.trim_end_matches('/').to_string();
        let client_id = set("AUTH_CLIENT_ID")?;
        let pool_id = issuer.rsplit('/').next().unwrap_or_default().to_string();
        let (jwks_url, domain_url) = match endpoint_override.filter(|b| !b.is_empty()) {
            Some(base) => {
                let base = base.trim_end_matches('/');
                (
                    format!("{base}/{pool_id}/.well-known/jwks.json"),
                    base.to_string(),
                )
            }
            None => (
                format!("{issuer}/.well-known/jwks.json"),
                set("AUTH_DOMAIN_URL").unwrap_or_default(),
            ),
        };
        Some(AuthSettings {
            issuer,
            client_id,
            jwks_url,
            domain_url: domain_url.trim_end_matches('/').to_string(),
            site_url: set("AUTH_SITE_URL")
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string(),
        })
    }

    /// Where the hosted UI sends a person back with a code.
    pub fn callback_url(&self) -> String {
        format!("{}/api/auth/callback", self.site_url)
    }
}

/// A signed-in person, from a verified ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user's `sub`: stable for the life of the user.
    pub user: String,
    /// The Cognito user name, which the chat shows.
    pub name: String,
    pub moderator: bool,
    /// The token's `exp`, seconds since the epoch.
    pub expires_at: i64,
}

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("sign in first: this chat needs a Cognito ID token")]
    Missing,
    #[error("the sign-in has expired; sign in again")]
    Expired,
    #[error("the token was not accepted ({0}); sign in again")]
    Invalid(String),
    /// The pool's keys could not be read: not the caller's fault.
    #[error("the sign-in keys could not be read: {0}")]
    Unavailable(String),
}

impl Refused {
    /// The HTTP status: 401 without a token, 403 for one that is not
    /// accepted (as API Gateway's authorizers answer), 503 when the keys
    /// could not be read.
    pub fn status(&self) -> u16 {
        match self {
            Refused::Missing => 401,
            Refused::Expired | Refused::Invalid(_) => 403,
            Refused::Unavailable(_) => 503,
        }
    }

    /// The error code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Refused::Missing => "sign_in_required",
            Refused::Expired | Refused::Invalid(_) => "sign_in_refused",
            Refused::Unavailable(_) => "internal",
        }
    }
}

/// The claims the chat reads from an ID token.
#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    token_use: String,
    exp: i64,
    #[serde(rename = "cognito:username")]
    username: Option<String>,
    #[serde(rename = "cognito:groups", default)]
    groups: Vec<String>,
}

/// The user pool's public keys, cached by the caller.
pub trait KeySource: Sync {
    /// The key set; `fresh` asks for it again rather than from a cache
    /// (a token named a key the cached set lacks: the pool rotated).
    fn keys(&self, fresh: bool) -> impl Future<Output = Result<Arc<JwkSet>, String>> + Send;
}

/// Checks tokens against one user pool and app client.
pub struct Verifier<K> {
    pub settings: AuthSettings,
    pub keys: K,
}

impl<K: KeySource> Verifier<K> {
    /// The person `token` (an ID token) belongs to.
    pub async fn verify(&self, token: &str) -> Result<Identity, Refused> {
        let token = token.trim();
        if token.is_empty() {
            return Err(Refused::Missing);
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| Refused::Invalid("not a JWT".into()))?;
        if header.alg != Algorithm::RS256 {
            return Err(Refused::Invalid("not signed with RS256".into()));
        }
        let kid = header
            .kid
            .ok_or_else(|| Refused::Invalid("no key id".into()))?;
        let mut keys = self.keys.keys(false).await.map_err(Refused::Unavailable)?;
        if keys.find(&kid).is_none() {
            keys = self.keys.keys(true).await.map_err(Refused::Unavailable)?;
        }
        let jwk = keys
            .find(&kid)
            .ok_or_else(|| Refused::Invalid("signed with a key the pool does not have".into()))?;
        verify_with(token, jwk, &self.settings)
    }
}

/// `token` checked against one key of the pool.
pub fn verify_with(
    token: &str,
    jwk: &jsonwebtoken::jwk::Jwk,
    settings: &AuthSettings,
) -> Result<Identity, Refused> {
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|_| Refused::Unavailable("the pool's key is not an RSA key".into()))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    // Cognito's own libraries allow no grace either.
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => Refused::Expired,
                ErrorKind::InvalidSignature => Refused::Invalid("bad signature".into()),
                ErrorKind::InvalidIssuer => Refused::Invalid("another issuer".into()),
                ErrorKind::InvalidAudience => Refused::Invalid("another app client".into()),
                _ => Refused::Invalid("malformed claims".into()),
            }
        })?
        .claims;
    if claims.token_use != "id" {
        return Err(Refused::Invalid("not an ID token".into()));
    }
    let name = claims
        .username
        .ok_or_else(|| Refused::Invalid("no cognito:username".into()))?;
    validate_name(&name).map_err(|_| {
        Refused::Invalid("the user name is not a chat name (1 to 32 printable characters)".into())
    })?;
    Ok(Identity {
        user: claims.sub,
        name,
        moderator: claims.groups.iter().any(|g| g == MODERATORS_GROUP),
        expires_at: claims.exp,
    })
}

/// Sign-in as a handler sees it: off (`None`), or the verifier.
pub trait SignIn: Sync {
    /// The settings, when sign-in is on.
    fn auth(&self) -> Option<&AuthSettings>;
    /// The person `token` belongs to (only called when sign-in is on).
    fn verify(&self, token: &str) -> impl Future<Output = Result<Identity, Refused>> + Send;
}

impl<K: KeySource> SignIn for Option<Verifier<K>> {
    fn auth(&self) -> Option<&AuthSettings> {
        self.as_ref().map(|v| &v.settings)
    }

    async fn verify(&self, token: &str) -> Result<Identity, Refused> {
        match self {
            Some(verifier) => verifier.verify(token).await,
            None => Err(Refused::Invalid("sign-in is off".into())),
        }
    }
}

/// [`SignIn`] and the hosted UI's code exchange (the http function).
pub trait SignInFlow: SignIn {
    fn exchange(
        &self,
        auth: &AuthSettings,
        code: &str,
        verifier: &str,
    ) -> impl Future<Output = Result<cognito::Tokens, String>> + Send;

    /// A new ID token for a refresh token (the session's hour is up).
    fn refresh(
        &self,
        auth: &AuthSettings,
        refresh_token: &str,
    ) -> impl Future<Output = Result<cognito::Tokens, String>> + Send;
}

impl<K: KeySource + cognito::CodeExchange> SignInFlow for Option<Verifier<K>> {
    async fn exchange(
        &self,
        auth: &AuthSettings,
        code: &str,
        verifier: &str,
    ) -> Result<cognito::Tokens, String> {
        match self {
            Some(signed) => signed.keys.exchange(auth, code, verifier).await,
            None => Err("sign-in is off".into()),
        }
    }

    async fn refresh(
        &self,
        auth: &AuthSettings,
        refresh_token: &str,
    ) -> Result<cognito::Tokens, String> {
        match self {
            Some(signed) => signed.keys.refresh(auth, refresh_token).await,
            None => Err("sign-in is off".into()),
        }
    }
}

/// Sign-in off: the chat is anonymous.
pub const SIGN_IN_OFF: Option<Verifier<NoKeys>> = None;

/// The key source of [`SIGN_IN_OFF`]: never asked.
pub struct NoKeys;

impl KeySource for NoKeys {
    async fn keys(&self, _fresh: bool) -> Result<Arc<JwkSet>, String> {
        Err("sign-in is off".into())
    }
}

impl cognito::CodeExchange for NoKeys {
    async fn exchange(
        &self,
        _auth: &AuthSettings,
        _code: &str,
        _verifier: &str,
    ) -> Result<cognito::Tokens, String> {
        Err("sign-in is off".into())
    }

    async fn refresh(
        &self,
        _auth: &AuthSettings,
        _refresh_token: &str,
    ) -> Result<cognito::Tokens, String> {
        Err("sign-in is off".into())
    }
}

/// The author token of a signed-in person: the same on every device and
/// connection, so they can edit their messages from any of them, and
/// secret, as it authorises edits and push subscriptions: an HMAC of their
/// `sub` under the stack's token key.
pub fn person_token(key: &str, user: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    let tag = ring::hmac::sign(&key, format!("person:{user}").as_bytes());
    tag.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod handler_tests;
#[cfg(test)]
pub mod tests;
