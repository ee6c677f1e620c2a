//! Token verification with two fixture keys (`fixtures/auth`): the pool's
//! and another pool's, made for these tests only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

use super::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/auth");
pub const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool";
pub const CLIENT: &str = "chat-client";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).expect("fixture")
}

/// The pool's key set, counting how often it is asked for afresh, and a
/// token endpoint answering `code` with `id_token` (recording each
/// exchange's code and PKCE verifier).
pub struct FixtureKeys {
    pub set: Arc<JwkSet>,
    pub fetches: AtomicUsize,
    pub code: (String, String),
    pub exchanged: std::sync::Mutex<Vec<(String, String)>>,
}

impl FixtureKeys {
    pub fn pool() -> FixtureKeys {
        FixtureKeys {
            set: Arc::new(serde_json::from_slice(&fixture("pool-jwks.json")).expect("jwks")),
            fetches: AtomicUsize::new(0),
            code: ("the-code".into(), token("ada")),
            exchanged: Default::default(),
        }
    }
}

impl cognito::CodeExchange for FixtureKeys {
    async fn exchange(
        &self,
        _auth: &AuthSettings,
        code: &str,
        verifier: &str,
    ) -> Result<cognito::Tokens, String> {
        crate::memory::lock(&self.exchanged).push((code.into(), verifier.into()));
        match code == self.code.0 {
            true => Ok(cognito::Tokens {
                id_token: self.code.1.clone(),
                refresh_token: Some("the-refresh-token".into()),
            }),
            false => Err("invalid_grant".into()),
        }
    }

    async fn refresh(
        &self,
        _auth: &AuthSettings,
        refresh_token: &str,
    ) -> Result<cognito::Tokens, String> {
        match refresh_token == "the-refresh-token" {
            true => Ok(cognito::Tokens {
                id_token: token("ada"),
                refresh_token: None,
            }),
            false => Err("invalid_grant".into()),
        }
    }
}

impl KeySource for FixtureKeys {
    async fn keys(&self, fresh: bool) -> Result<Arc<JwkSet>, String> {
        if fresh {
            self.fetches.fetch_add(1, Ordering::SeqCst);
        }
        Ok(self.set.clone())
    }
}

pub fn settings() -> AuthSettings {
    AuthSettings {
        issuer: ISSUER.into(),
        client_id: CLIENT.into(),
        jwks_url: format!("{ISSUER}/.well-known/jwks.json"),
        domain_url: "https://chat.auth.us-east-1.amazoncognito.com".into(),
        site_url: "https://chat.example.com".into(),
    }
}

pub fn verifier() -> Option<Verifier<FixtureKeys>> {
    Some(Verifier {
        settings: settings(),
        keys: FixtureKeys::pool(),
    })
}

/// An ID token for `name`, as the pool signs it, with `claims` changed.
pub fn token_with(key: &str, kid: &str, name: &str, claims: serde_json::Value) -> String {
    let mut body = json!({
        "sub": format!("sub-of-{name}"),
        "iss": ISSUER,
        "aud": CLIENT,
        "token_use": "id",
        "exp": crate::now_seconds() + 3600,
        "iat": crate::now_seconds(),
        "cognito:username": name,
    });
    for (k, v) in claims.as_object().expect("object") {
        body[k] = v.clone();
    }
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.into());
    let key = EncodingKey::from_rsa_der(&fixture(&format!("{key}.der")));
    jsonwebtoken::encode(&header, &body, &key).expect("signed")
}

/// A valid ID token for `name`.
pub fn token(name: &str) -> String {
    token_with("pool", "pool-key", name, json!({}))
}

#[tokio::test]
async fn a_pool_token_names_its_person_and_their_groups() {
    let verifier = verifier();
    let ada = verifier.verify(&token("ada")).await.expect("accepted");
    assert_eq!(
        (ada.name.as_str(), ada.user.as_str()),
        ("ada", "sub-of-ada")
    );
    assert!(!ada.moderator);
    let moderator = token_with(
        "pool",
        "pool-key",
        "mo",
        json!({"cognito:groups": ["readers", "moderators"]}),
    );
    assert!(
        verifier
            .verify(&moderator)
            .await
            .expect("accepted")
            .moderator
    );
    assert_eq!(verifier.auth(), Some(&settings()));
}

#[tokio::test]
async fn forged_expired_foreign_and_access_tokens_are_refused() {
    let verifier = verifier();
    let refused = |r: Result<Identity, Refused>| r.expect_err("refused");
    // Signed with another key under the pool's key id.
    let forged = token_with("other", "pool-key", "ada", json!({}));
    assert_eq!(
        refused(verifier.verify(&forged).await),
        Refused::Invalid("bad signature".into())
    );
    let expired = token_with(
        "pool",
        "pool-key",
        "ada",
        json!({"exp": crate::now_seconds() - 1}),
    );
    let expired = refused(verifier.verify(&expired).await);
    assert_eq!((expired.clone(), expired.status()), (Refused::Expired, 403));
    // Another pool: its own issuer (and here its key id, which the pool lacks).
    let foreign = token_with(
        "other",
        "other-key",
        "ada",
        json!({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"}),
    );
    assert!(matches!(
        refused(verifier.verify(&foreign).await),
        Refused::Invalid(_)
    ));
    let same_key_other_issuer = token_with(
        "pool",
        "pool-key",
        "ada",
        json!({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"}),
    );
    assert_eq!(
        refused(verifier.verify(&same_key_other_issuer).await),
        Refused::Invalid("another issuer".into())
    );
    let other_client = token_with("pool", "pool-key", "ada", json!({"aud": "another-client"}));
    assert_eq!(
        refused(verifier.verify(&other_client).await),
        Refused::Invalid("another app client".into())
    );
    let access = token_with("pool", "pool-key", "ada", json!({"token_use": "access"}));
    assert_eq!(
        refused(verifier.verify(&access).await),
        Refused::Invalid("not an ID token".into())
    );
    let long_name = token(&"x".repeat(40));
    assert!(matches!(
        refused(verifier.verify(&long_name).await),
        Refused::Invalid(_)
    ));
    let missing = refused(verifier.verify(" ").await);
    assert_eq!(
        (missing.status(), missing.code()),
        (401, "sign_in_required")
    );
    assert!(matches!(
        refused(verifier.verify("a.b.c").await),
        Refused::Invalid(_)
    ));
    // An unsigned token (alg none) never gets as far as a key.
    let unsigned = {
        use base64::Engine;
        let b64 = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.",
            b64(json!({"alg": "none", "kid": "pool-key"})),
            b64(
                json!({"sub": "x", "iss": ISSUER, "aud": CLIENT, "token_use": "id",
                       "exp": crate::now_seconds() + 60, "cognito:username": "ada"})
            )
        )
    };
    assert!(matches!(
        refused(verifier.verify(&unsigned).await),
        Refused::Invalid(_)
    ));
}

#[tokio::test]
async fn an_unknown_key_id_asks_for_the_keys_again_once() {
    let verifier = verifier();
    let foreign = token_with("other", "other-key", "ada", json!({}));
    assert!(verifier.verify(&foreign).await.is_err());
    let fetches = verifier
        .as_ref()
        .map(|v| v.keys.fetches.load(Ordering::SeqCst));
    assert_eq!(fetches, Some(1));
    verifier.verify(&token("ada")).await.expect("accepted");
    let fetches = verifier
        .as_ref()
        .map(|v| v.keys.fetches.load(Ordering::SeqCst));
    assert_eq!(fetches, Some(1), "a known key needs no fetch");
}

#[test]
fn settings_come_from_the_template_or_the_emulator() {
    let vars = |name: &str| match name {
        "AUTH_ISSUER" => Some(format!("{ISSUER}/")),
        "AUTH_CLIENT_ID" => Some(CLIENT.to_string()),
        "AUTH_DOMAIN_URL" => Some("https://chat.auth.us-east-1.amazoncognito.com".into()),
        "AUTH_SITE_URL" => Some("https://chat.example.com/".into()),
        _ => None,
    };
    let aws = AuthSettings::from_vars(vars, None).expect("on");
    assert_eq!(aws, settings());
    assert_eq!(
        aws.callback_url(),
        "https://chat.example.com/api/auth/callback"
    );
    let local = AuthSettings::from_vars(vars, Some("http://127.0.0.1:4566/")).expect("on");
    assert_eq!(
        local.jwks_url,
        "http://127.0.0.1:4566/us-east-1_pool/.well-known/jwks.json"
    );
    assert_eq!(local.domain_url, "http://127.0.0.1:4566");
    assert_eq!(local.issuer, ISSUER, "the tokens' issuer stays AWS's");
    assert_eq!(AuthSettings::from_vars(|_| None, None), None, "off");
}

#[test]
fn a_persons_token_is_theirs_on_every_device_and_secret() {
    let ada = person_token("key", "sub-ada");
    assert_eq!(ada, person_token("key", "sub-ada"));
    assert_ne!(ada, person_token("key", "sub-bob"));
    assert_ne!(ada, person_token("another key", "sub-ada"));
    assert!(crate::connect::valid_token(&ada));
}
