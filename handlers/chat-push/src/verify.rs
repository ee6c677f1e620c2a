//! A push service's side, for tests (here, and the emulator tests' push
//! stand-in with the `verify` feature): a browser's subscription with the
//! private key only it holds, the checks a push service makes of the VAPID
//! signature, and the browser's decryption.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;

use crate::Subscription;

/// A browser's private key.
pub use p256::SecretKey;

/// A browser's subscription, with the private key only it holds.
pub fn browser(endpoint: &str) -> (Subscription, p256::SecretKey, [u8; 16]) {
    let secret = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let auth = [7u8; 16];
    let public = secret.public_key().to_encoded_point(false);
    let subscription = Subscription {
        endpoint: endpoint.into(),
        p256dh: URL_SAFE_NO_PAD.encode(public.as_bytes()),
        auth: URL_SAFE_NO_PAD.encode(auth),
    };
    (subscription, secret, auth)
}

/// What a push service accepts: the claims of a JWT signed by the key it
/// carries, for `origin`, unexpired and valid for at most 24 hours.
pub fn verified_claims(
    authorization: &str,
    origin: &str,
    now: i64,
) -> Result<serde_json::Value, String> {
    let rest = authorization.strip_prefix("vapid t=").ok_or("not vapid")?;
    let (jwt, key) = rest.split_once(", k=").ok_or("no k=")?;
    let key =
        VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(key).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let (signed, signature) = jwt.rsplit_once('.').ok_or("no signature")?;
    let signature = Signature::from_slice(
        &URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    key.verify(signed.as_bytes(), &signature)
        .map_err(|_| "bad signature".to_string())?;
    let (header, claims) = signed.split_once('.').ok_or("no claims")?;
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    if header["alg"] != "ES256" {
        return Err(format!("alg {}", header["alg"]));
    }
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    if claims["aud"] != origin {
        return Err(format!("aud {}", claims["aud"]));
    }
    let exp = claims["exp"].as_i64().ok_or("no exp")?;
    if exp <= now || exp > now + 24 * 3600 {
        return Err(format!("exp {exp}"));
    }
    Ok(claims)
}

/// The payload as the browser holding `secret` and `auth` reads it.
pub fn decrypt(
    body: Vec<u8>,
    secret: &p256::SecretKey,
    auth: &[u8; 16],
) -> Result<Vec<u8>, String> {
    web_push_native::decrypt(body, secret, web_push_native::Auth::from_slice(auth))
        .map_err(|e| format!("{e:?}"))
}
