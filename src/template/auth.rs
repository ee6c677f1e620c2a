//! What `auth` (sign-in with Cognito) adds to the chat stack: the sources
//! in `stack-templates/auth.yaml`, and the values that depend on
//! `chatctl.yaml` and the other resources.

use serde_json::{json, Value};

use super::{merge_section, source};
use crate::config::Project;
use crate::error::Result;

const AUTH: &str = include_str!("../../stack-templates/auth.yaml");

/// The parameter `chatctl --local` sets to its site proxy's URL, so the
/// hosted UI may send people back there.
pub const SITE_URL_PARAMETER: &str = "SignInSiteUrl";

/// The hosted sign-in domain's URL (`SignInDomainUrl`).
const DOMAIN_URL: &str = "https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com";

/// Adds sign-in to `template` when the configuration turns it on.
pub fn sign_in(template: &mut Value, project: &Project) -> Result<()> {
    let config = &project.config;
    let Some(auth) = &config.auth else {
        return Ok(());
    };
    let sources = source("auth.yaml", AUTH)?;
    for section in ["Parameters", "Conditions", "Resources", "Outputs"] {
        merge_section(template, &sources, section)?;
    }
    let resources = &mut template["Resources"];
    let data_policy = if config.data.retain {
        "Retain"
    } else {
        "Delete"
    };
    resources["UserPool"]["DeletionPolicy"] = json!(data_policy);
    resources["UserPool"]["UpdateReplacePolicy"] = json!(data_policy);

    // The site's own URLs: the distribution's and the custom domain's, and
    // under --local the site proxy's (the parameter).
    let custom = config
        .domain
        .as_ref()
        .map(|d| format!("https://{}", d.name.0));
    let urls = |suffix: &str| {
        let mut own =
            vec![json!({"Fn::Sub": format!("https://${{Distribution.DomainName}}{suffix}")})];
        own.extend(custom.iter().map(|site| json!(format!("{site}{suffix}"))));
        let mut with_local = vec![json!({"Fn::Sub": format!("${{{SITE_URL_PARAMETER}}}{suffix}")})];
        with_local.extend(own.iter().cloned());
        json!({"Fn::If": ["HasSignInSiteUrl", with_local, own]})
    };
    let client = &mut resources["UserPoolClient"]["Properties"];
    client["CallbackURLs"] = urls("/api/auth/callback");
    client["LogoutURLs"] = urls("/");
    let primary = match &config.domain {
        Some(domain) => json!(format!("https://{}", domain.name.0)),
        None => json!({"Fn::Sub": "https://${Distribution.DomainName}"}),
    };

    if let Some(google) = &auth.google {
        resources["GoogleIdentityProvider"] = json!({
            "Type": "AWS::Cognito::UserPoolIdentityProvider",
            "Properties": {
                "UserPoolId": {"Ref": "UserPool"},
                "ProviderName": "Google",
                "ProviderType": "Google",
                "ProviderDetails": {
                    "client_id": google.client_id.0,
                    // Resolved by CloudFormation at deploy time: the secret's
                    // value is never in the template.
                    "client_secret": format!(
                        "{{{{resolve:secretsmanager:{}:SecretString}}}}",
                        google.client_secret_from.0
                    ),
                    "authorize_scopes": "openid email profile",
                },
                "AttributeMapping": {"email": "email"},
            },
        });
        let client = &mut resources["UserPoolClient"];
        client["Properties"]["SupportedIdentityProviders"] = json!(["COGNITO", "Google"]);
        client["DependsOn"] = json!(["GoogleIdentityProvider"]);
    }

    // The functions that verify tokens learn the pool, the client and
    // where the hosted UI sends people back; the fan-out learns that
    // sign-in is on, for the room page's form.
    let variables = json!({
        "AUTH_ISSUER": {"Fn::Sub": "https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/${UserPool}"},
        "AUTH_CLIENT_ID": {"Ref": "UserPoolClient"},
        "AUTH_DOMAIN_URL": {"Fn::Sub": DOMAIN_URL},
        "AUTH_SITE_URL": {"Fn::If": ["HasSignInSiteUrl", {"Ref": SITE_URL_PARAMETER}, primary]},
    });
    for function in ["ConnectFunction", "HttpFunction", "FanoutFunction"] {
        if let (Some(function), Some(variables)) =
            (resources.get_mut(function), variables.as_object())
        {
            for (name, value) in variables {
                function["Properties"]["Environment"]["Variables"][name] = value.clone();
            }
        }
    }
    // A moderator's `disconnect`: only the message function may close connections.
    if let Some(statements) = resources["MessageRole"]["Properties"]["Policies"][1]
        ["PolicyDocument"]["Statement"]
        .as_array_mut()
    {
        statements.push(json!({
            "Effect": "Allow",
            "Action": "execute-api:ManageConnections",
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApi}/${WebSocketStage}/DELETE/@connections/*"},
        }));
    }
    // The session cookies reach the HTTP API through CloudFront.
    resources["ApiOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
        ["CookiesConfig"] = json!({
        "CookieBehavior": "whitelist",
        "Cookies": [SESSION_COOKIE, REFRESH_COOKIE, SIGN_IN_COOKIE],
    });
    // Signing out is a form post answered with a redirect to the hosted
    // UI's logout: the page's form-action must allow that domain.
    let csp = &mut resources["SecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
        ["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"];
    if let Some(policy) = csp.as_str() {
        *csp = json!(policy.replace(
            "form-action 'self'",
            &format!("form-action 'self' {DOMAIN_URL}")
        ));
    }
    Ok(())
}

/// The session cookie (`chat_core::auth::cookies`), forwarded by CloudFront.
pub const SESSION_COOKIE: &str = "__Host-chat-session";
/// The refresh token's cookie.
pub const REFRESH_COOKIE: &str = "__Host-chat-refresh";
/// A sign-in under way.
pub const SIGN_IN_COOKIE: &str = "__Host-chat-sign-in";

#[cfg(test)]
mod tests {
    /// CloudFront forwards the cookies the http function reads: one set of names.
    #[test]
    fn the_forwarded_cookies_are_the_ones_the_http_function_sets() {
        use chat_core::auth::cookies;
        assert_eq!(super::SESSION_COOKIE, cookies::SESSION);
        assert_eq!(super::REFRESH_COOKIE, cookies::REFRESH);
        assert_eq!(super::SIGN_IN_COOKIE, cookies::SIGN_IN);
    }
}
