//! Web Push (RFC 8030): one notification to one browser's push service.
//! The payload is encrypted for the subscription (RFC 8291, `aes128gcm`,
//! by the web-push-native crate) and the request signed with the stack's
//! VAPID key (RFC 8292: an ES256 JWT for the push service's origin). The
//! notify function sends with this, after checking the endpoint
//! (`chat_core::push`, which the HTTP API checks subscriptions with too);
//! chatctl generates the key. The tests here play the push service, and
//! with the `verify` feature, so do the emulator tests (`verify`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

/// How long a push service keeps a notification it cannot deliver yet.
pub const TTL_SECONDS: u64 = 24 * 3600;
/// How long a VAPID signature is valid (RFC 8292 allows at most 24 hours).
pub const VAPID_VALID_SECONDS: i64 = 12 * 3600;

/// A browser's push subscription (`PushSubscription.toJSON()`): its
/// endpoint and keys, base64url as browsers give them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Subscription {
    pub endpoint: String,
    /// The browser's P-256 public key, uncompressed (65 bytes).
    pub p256dh: String,
    /// Its 16-byte authentication secret.
    pub auth: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("endpoint: not a URL")]
    Endpoint,
    #[error("{0}: not a valid key")]
    Key(&'static str),
    #[error("encrypting the notification failed")]
    Encrypt,
}

/// The stack's VAPID key pair (P-256). The private key is a secret: it is
/// read from the stack's secret, never logged.
#[derive(Clone)]
pub struct VapidKey {
    signing: SigningKey,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VapidKey({})", self.public_base64url())
    }
}

impl VapidKey {
    pub fn generate() -> VapidKey {
        VapidKey {
            signing: SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng),
        }
    }

    /// From the private scalar, base64url (32 bytes).
    pub fn from_base64url(private: &str) -> Result<VapidKey, PushError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(private.trim())
            .map_err(|_| PushError::Key("VAPID private key"))?;
        let signing =
            SigningKey::from_slice(&bytes).map_err(|_| PushError::Key("VAPID private key"))?;
        Ok(VapidKey { signing })
    }

    pub fn private_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.signing.to_bytes())
    }

    /// The public key, uncompressed and base64url: what a page passes to
    /// `pushManager.subscribe` as `applicationServerKey`.
    pub fn public_base64url(&self) -> String {
        let point = self.signing.verifying_key().to_encoded_point(false);
        URL_SAFE_NO_PAD.encode(point.as_bytes())
    }

    /// The `Authorization` header value for a push service at `audience`
    /// (its origin): `vapid t=JWT, k=PUBLIC KEY` (RFC 8292).
    pub fn authorization(&self, audience: &str, now: i64, subject: &str) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": audience,
            "exp": now + VAPID_VALID_SECONDS,
            "sub": subject,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{header}.{claims}");
        let signature: Signature = self.signing.sign(signed.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(signature.to_bytes());
        format!(
            "vapid t={signed}.{signature}, k={}",
            self.public_base64url()
        )
    }
}

/// The push request for `payload` to `subscription`: encrypted for it,
/// signed for its push service's origin, `TTL` and `Urgency` set. The
/// endpoint is the caller's to check first (`chat_core::push`).
pub fn request(
    subscription: &Subscription,
    key: &VapidKey,
    payload: &[u8],
    now: i64,
    subject: &str,
) -> Result<http::Request<Vec<u8>>, PushError> {
    let endpoint: http::Uri = subscription
        .endpoint
        .parse()
        .map_err(|_| PushError::Endpoint)?;
    let decode = |value: &str, what| {
        URL_SAFE_NO_PAD
            .decode(value.trim_end_matches('='))
            .map_err(|_| PushError::Key(what))
    };
    let public = p256::PublicKey::from_sec1_bytes(&decode(&subscription.p256dh, "p256dh")?)
        .map_err(|_| PushError::Key("p256dh"))?;
    let auth = decode(&subscription.auth, "auth")?;
    if auth.len() != 16 {
        return Err(PushError::Key("auth"));
    }
    let auth = web_push_native::Auth::clone_from_slice(&auth);
    let audience = format!(
        "{}://{}",
        endpoint.scheme_str().unwrap_or("https"),
        endpoint.authority().map(|a| a.as_str()).unwrap_or_default()
    );
    let mut request = web_push_native::WebPushBuilder::new(endpoint, public, auth)
        .with_valid_duration(std::time::Duration::from_secs(TTL_SECONDS))
        .build(payload.to_vec())
        .map_err(|_| PushError::Encrypt)?;
    let headers = request.headers_mut();
    let authorization = key.authorization(&audience, now, subject);
    headers.insert(
        http::header::AUTHORIZATION,
        http::HeaderValue::from_str(&authorization).map_err(|_| PushError::Encrypt)?,
    );
    headers.insert("Urgency", http::HeaderValue::from_static("normal"));
    Ok(request)
}

#[cfg(any(test, feature = "verify"))]
pub mod verify;

#[cfg(test)]
mod tests;
