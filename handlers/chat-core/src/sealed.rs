//! Author tokens sealed at rest. The connections table (whose `by-room-keys`
//! index, which the fan-out reads, holds ids only) must not hold a token anyone reading the
//! table could use to edit or delete someone's messages; yet every history
//! page hands the client its token back (README), so the server has to read
//! it again, which a hash would not allow. So the token is stored sealed
//! with AES-256-GCM under a key only the connect and message functions
//! hold (`TOKEN_KEY`: a Secrets Manager secret resolved by CloudFormation
//! into their environment at deploy time); the `author` hash stays for the
//! per-client limits and the edit rule. ring, already linked for TLS,
//! supplies the cipher.

use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use sha2::{Digest, Sha256};

/// The sealing key, derived from the secret's text.
#[derive(Clone)]
pub struct TokenKey(LessSafeKey);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

/// A secret's text, as settings hold it: compared, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl TokenKey {
    /// A key from the secret's text (any length: SHA-256 makes it 32 bytes).
    pub fn from_secret(secret: &str) -> TokenKey {
        let bytes = Sha256::digest(secret.as_bytes());
        // 32 bytes is AES-256-GCM's key length, so this cannot fail.
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes).unwrap_or_else(|_| unreachable!());
        TokenKey(LessSafeKey::new(unbound))
    }

    /// `token` sealed under a fresh random nonce: base64 of nonce and
    /// ciphertext with its tag. The connection id is bound in as associated
    /// data, so a sealed token copied onto another connection does not open.
    pub fn seal(&self, connection_id: &str, token: &str) -> Result<String, String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| format!("no randomness for a nonce: {e}"))?;
        let mut sealed = token.as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(connection_id.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| "sealing failed".to_string())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(base64::engine::general_purpose::STANDARD_NO_PAD.encode(out))
    }

    /// The token sealed by [`TokenKey::seal`] for `connection_id`; `None`
    /// when it was sealed under another key or for another connection, or
    /// was altered.
    pub fn open(&self, connection_id: &str, sealed: &str) -> Option<String> {
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(sealed)
            .ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(connection_id.as_bytes()), &mut body)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_token_opens_only_with_its_key_and_connection() {
        let key = TokenKey::from_secret("a secret from secrets manager");
        let token = "Zm9vYmFyYmF6cXV4cXV1eA";
        let sealed = key.seal("conn-1", token).expect("seal");
        assert!(!sealed.contains(token), "the token shows through: {sealed}");
        assert_eq!(key.open("conn-1", &sealed).as_deref(), Some(token));
        assert_ne!(
            sealed,
            key.seal("conn-1", token).expect("seal"),
            "a fresh nonce each time"
        );
        assert_eq!(key.open("conn-2", &sealed), None, "bound to its connection");
        let other = TokenKey::from_secret("another secret");
        assert_eq!(other.open("conn-1", &sealed), None, "another key");
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).expect("ascii");
        assert_eq!(key.open("conn-1", &altered), None, "altered");
        assert_eq!(key.open("conn-1", "not base64!"), None);
        assert_eq!(key.open("conn-1", ""), None);
    }
}
