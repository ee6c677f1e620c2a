//! The push request as a push service checks it: the VAPID JWT's signature,
//! audience and expiry, and the payload decrypted with the subscription's
//! private key (web-push-native's `decrypt`, as a browser would).

use super::verify::{browser, verified_claims};
use super::*;

const NOW: i64 = 1_800_000_000;
const SUBJECT: &str = "https://chat.example.com";

#[test]
fn the_push_service_verifies_the_signature_and_the_browser_decrypts_the_payload() {
    let key = VapidKey::generate();
    let (subscription, secret, auth) = browser("https://push.example.net/wpush/v2/abc123");
    let payload = br#"{"room":"general","name":"Ada","text":"hello"}"#;
    let request = request(&subscription, &key, payload, NOW, SUBJECT).expect("request");
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.uri(), "https://push.example.net/wpush/v2/abc123");
    let header = |name: &str| request.headers()[name].to_str().expect("ASCII").to_string();
    assert_eq!(header("content-encoding"), "aes128gcm");
    assert_eq!(header("ttl"), TTL_SECONDS.to_string());
    let claims = verified_claims(&header("authorization"), "https://push.example.net", NOW)
        .expect("a valid VAPID signature");
    assert_eq!(claims["sub"], SUBJECT);
    assert!(
        header("authorization").ends_with(&key.public_base64url()),
        "the key the page subscribed with"
    );
    assert_ne!(request.body().as_slice(), payload, "encrypted");
    let decrypted = web_push_native::decrypt(
        request.body().clone(),
        &secret,
        web_push_native::Auth::from_slice(&auth),
    )
    .expect("the browser decrypts it");
    assert_eq!(decrypted, payload);
    // Another browser's key cannot.
    let (_, stranger, _) = browser("https://push.example.net/x");
    assert!(web_push_native::decrypt(
        request.body().clone(),
        &stranger,
        web_push_native::Auth::from_slice(&auth)
    )
    .is_err());
}

#[test]
fn a_forged_or_misaddressed_signature_is_refused() {
    let key = VapidKey::generate();
    let (subscription, _, _) = browser("https://push.example.net/abc");
    let signed = request(&subscription, &key, b"x", NOW, SUBJECT).expect("request");
    let authorization = signed.headers()["authorization"].to_str().expect("ASCII");
    assert!(
        verified_claims(authorization, "https://other.example.net", NOW)
            .is_err_and(|e| e.starts_with("aud"))
    );
    // The same claims under another key's public key do not verify.
    let other = VapidKey::generate();
    let forged = authorization.replace(&key.public_base64url(), &other.public_base64url());
    assert_eq!(
        verified_claims(&forged, "https://push.example.net", NOW),
        Err("bad signature".to_string())
    );
}

#[test]
fn a_key_survives_its_secret_form_and_bad_keys_are_named() {
    let key = VapidKey::generate();
    let again = VapidKey::from_base64url(&key.private_base64url()).expect("read back");
    assert_eq!(again.public_base64url(), key.public_base64url());
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(key.public_base64url())
            .expect("b64")
            .len(),
        65
    );
    assert!(
        !format!("{key:?}").contains(&key.private_base64url()),
        "never in logs"
    );
    assert_eq!(
        VapidKey::from_base64url("not a key").err(),
        Some(PushError::Key("VAPID private key"))
    );
    let (mut subscription, _, _) = browser("https://push.example.net/abc");
    subscription.auth = URL_SAFE_NO_PAD.encode([1u8; 8]);
    assert_eq!(
        request(&subscription, &key, b"x", NOW, SUBJECT).err(),
        Some(PushError::Key("auth"))
    );
    subscription.p256dh = "AAAA".into();
    assert_eq!(
        request(&subscription, &key, b"x", NOW, SUBJECT).err(),
        Some(PushError::Key("p256dh"))
    );
}
