//! The push request as a push service checks it: the VAPID JWT's signature,
//! audience and expiry, and the payload decrypted with the subscription's
//! private key (web-push-native's `decrypt`, as a browser would).

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::VerifyingKey;
use p256::elliptic_curve::sec1::ToEncodedPoint;

use super::*;

const NOW: i64 = 1_800_000_000;
const SUBJECT: &str = "https://chat.example.com";

/// A browser's subscription, with the private key only it holds.
fn browser(endpoint: &str) -> (Subscription, p256::SecretKey, [u8; 16]) {
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
fn verified_claims(authorization: &str, origin: &str) -> Result<serde_json::Value, String> {
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
    if exp <= NOW || exp > NOW + 24 * 3600 {
        return Err(format!("exp {exp}"));
    }
    Ok(claims)
}

#[test]
fn the_push_service_verifies_the_signature_and_the_browser_decrypts_the_payload() {
    let key = VapidKey::generate();
    let (subscription, secret, auth) = browser("https://push.example.net/wpush/v2/abc123");
    let payload = br#"{"room":"general","name":"Ada","text":"hello"}"#;
    let request = request(&subscription, &key, payload, NOW, SUBJECT, false).expect("request");
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.uri(), "https://push.example.net/wpush/v2/abc123");
    let header = |name: &str| request.headers()[name].to_str().expect("ASCII").to_string();
    assert_eq!(header("content-encoding"), "aes128gcm");
    assert_eq!(header("ttl"), TTL_SECONDS.to_string());
    let claims = verified_claims(&header("authorization"), "https://push.example.net")
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
    let signed = request(&subscription, &key, b"x", NOW, SUBJECT, false).expect("request");
    let authorization = signed.headers()["authorization"].to_str().expect("ASCII");
    assert!(verified_claims(authorization, "https://other.example.net")
        .is_err_and(|e| e.starts_with("aud")));
    // The same claims under another key's public key do not verify.
    let other = VapidKey::generate();
    let forged = authorization.replace(&key.public_base64url(), &other.public_base64url());
    assert_eq!(
        verified_claims(&forged, "https://push.example.net"),
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
        request(&subscription, &key, b"x", NOW, SUBJECT, false).err(),
        Some(PushError::Key("auth"))
    );
    subscription.p256dh = "AAAA".into();
    assert_eq!(
        request(&subscription, &key, b"x", NOW, SUBJECT, false).err(),
        Some(PushError::Key("p256dh"))
    );
}

#[test]
fn endpoints_at_internal_addresses_are_refused() {
    for endpoint in [
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://203.0.113.9/push",
    ] {
        assert!(check_endpoint(endpoint, false).is_ok(), "{endpoint}");
    }
    assert_eq!(
        check_endpoint("http://push.example.net/abc", false),
        Err(EndpointError::NotHttps)
    );
    assert_eq!(
        check_endpoint("ftp://x/y", true),
        Err(EndpointError::NotHttps)
    );
    assert_eq!(
        check_endpoint("not a url", false),
        Err(EndpointError::Unparsable)
    );
    for internal in [
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://172.16.0.1/x",
        "https://192.168.1.1/x",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/x",
        "https://0.0.0.0/x",
        "https://[::1]/x",
        "https://[fd00::1]/x",
        "https://[fe80::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://[::ffff:10.0.0.1]/x",
    ] {
        assert!(
            matches!(
                check_endpoint(internal, false),
                Err(EndpointError::Internal(_))
            ),
            "{internal}"
        );
    }
    // Under `--local` a push service on this machine, and nothing else internal.
    assert!(check_endpoint("http://127.0.0.1:8999/push/1", true).is_ok());
    assert!(matches!(
        check_endpoint("http://10.0.0.1/x", true),
        Err(EndpointError::Internal(_))
    ));
    assert!(check_address("8.8.8.8".parse().expect("ip"), false).is_ok());
    assert!(check_address("192.168.0.7".parse().expect("ip"), false).is_err());
}

#[test]
fn a_push_services_answer_says_what_to_do() {
    assert_eq!(outcome(201), Outcome::Delivered);
    assert_eq!(outcome(404), Outcome::Gone);
    assert_eq!(outcome(410), Outcome::Gone);
    assert_eq!(outcome(429), Outcome::Retry);
    assert_eq!(outcome(503), Outcome::Retry);
    assert_eq!(outcome(400), Outcome::Refused);
    assert_eq!(outcome(413), Outcome::Refused);
}
