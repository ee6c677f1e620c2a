//! The emulator's Cognito user pools, as an operator (or a person signing
//! up) fills them: users with passwords, and the `moderators` group.

use serde_json::{json, Value};

use super::http_request_with;

/// A Cognito API call on the emulator at `port`: the JSON answer.
pub fn call(port: u16, action: &str, body: Value) -> Value {
    let target = format!("AWSCognitoIdentityProviderService.{action}");
    let auth = "AWS4-HMAC-SHA256 Credential=000000000000/20260101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=0";
    let response = http_request_with(
        port,
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", &target),
            ("Authorization", auth),
        ],
        &body.to_string(),
    )
    .expect("Cognito answers");
    let status = response.split_whitespace().nth(1).unwrap_or("");
    assert_eq!(status, "200", "{action}: {response}");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("");
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// A confirmed user `name` with `password`, in `moderators` when asked.
pub fn create_user(port: u16, pool: &str, name: &str, password: &str, moderator: bool) {
    call(
        port,
        "AdminCreateUser",
        json!({
            "UserPoolId": pool, "Username": name, "MessageAction": "SUPPRESS",
            "UserAttributes": [{"Name": "email", "Value": format!("{name}@example.com")}],
        }),
    );
    call(
        port,
        "AdminSetUserPassword",
        json!({"UserPoolId": pool, "Username": name, "Password": password, "Permanent": true}),
    );
    if moderator {
        call(
            port,
            "AdminAddUserToGroup",
            json!({"UserPoolId": pool, "Username": name, "GroupName": "moderators"}),
        );
    }
}
