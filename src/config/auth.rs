//! `auth`: optional sign-in (off unless the key is there).

use serde::{Deserialize, Serialize};

/// Sign-in with a Cognito user pool: names nobody else can take, and
/// moderators (the pool's `moderators` group).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    pub provider: AuthProvider,
    /// Google as an identity provider beside the pool's own users.
    #[serde(default)]
    pub google: Option<GoogleSignIn>,
}

/// Who signs people in; Amazon Cognito is the one chatctl deploys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthProvider {
    Cognito,
}

/// A Google OAuth client. Its secret stays in Secrets Manager: the
/// template names the secret and CloudFormation resolves it at deploy
/// time, so the secret's value is never in the template or the repository.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleSignIn {
    pub client_id: GoogleClientId,
    /// The name or ARN of the Secrets Manager secret whose value is the
    /// client secret.
    pub client_secret_from: SecretName,
}

/// A Google OAuth client id (`NUMBER-ID.apps.googleusercontent.com`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct GoogleClientId(pub String);

impl TryFrom<String> for GoogleClientId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        let ok = value.ends_with(".apps.googleusercontent.com")
            && value.len() <= 200
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
        match ok {
            true => Ok(GoogleClientId(value)),
            false => Err(format!(
                "`{value}` is not a Google OAuth client id (NUMBER-ID.apps.googleusercontent.com, from the Google Cloud console)"
            )),
        }
    }
}

impl From<GoogleClientId> for String {
    fn from(value: GoogleClientId) -> String {
        value.0
    }
}

/// A Secrets Manager secret's name or ARN.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct SecretName(pub String);

impl TryFrom<String> for SecretName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        // Secrets Manager's names: 1 to 512 of letters, digits and /_+=.@-;
        // an ARN adds ':'. Anything else (a pasted secret value, braces)
        // would not resolve, or would break the dynamic reference.
        let ok = (1..=512).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-:".contains(c));
        match ok {
            true => Ok(SecretName(value)),
            false => Err(format!(
                "`{}` is not a Secrets Manager secret name or ARN: give the secret's name (letters, digits and /_+=.@-), never the secret itself",
                value.chars().take(40).collect::<String>()
            )),
        }
    }
}

impl From<SecretName> for String {
    fn from(value: SecretName) -> String {
        value.0
    }
}
