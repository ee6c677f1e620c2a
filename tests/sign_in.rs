//! Sign-in on the emulator (`auth: { provider: cognito }`): people created
//! in the stack's user pool sign in through its hosted UI and the chat's
//! own callback route, then chat under the names in their tokens. No
//! token, a forged one, an expired one and another pool's are refused at
//! the handshake; moderators delete any message and disconnect people,
//! others cannot; a form post needs the session cookie.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::project::{chatctl, json_of, Project};
use support::ws::{expect, open_direct, send, Socket};
use support::{http_request_with, Emulator};

const PASSWORD: &str = "correct horse battery staple";

fn cognito(emulator: &Emulator, action: &str, body: Value) -> Value {
    support::cognito::call(emulator.raw_port(), action, body)
}

fn status(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn body_of(response: &str) -> &str {
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or("")
}

/// Every value of header `name` (case-insensitive).
fn headers(response: &str, name: &str) -> Vec<String> {
    let head = response.split("\r\n\r\n").next().unwrap_or("");
    head.lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(key, _)| key.trim().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim().to_string())
        .collect()
}

/// `name=value` of the Set-Cookie for `cookie`.
fn cookie_pair(response: &str, cookie: &str) -> String {
    headers(response, "set-cookie")
        .into_iter()
        .find(|c| c.starts_with(&format!("{cookie}=")))
        .and_then(|c| c.split(';').next().map(str::to_string))
        .unwrap_or_else(|| panic!("no {cookie} cookie: {response}"))
}

fn query_of(url: &str) -> HashMap<String, String> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// A request to the HTTP API's `path` (through the rules layer).
fn api(
    emulator: &Emulator,
    outputs: &Value,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> String {
    let http_api = outputs["HttpApiId"].as_str().expect("http api");
    http_request_with(
        emulator.port(),
        method,
        &format!("/_aws/execute-api/{http_api}/$default{path}"),
        headers,
        body,
    )
    .expect("the HTTP API answers")
}

/// `name` signs in as a person with JavaScript off would: the chat's
/// sign-in route, the hosted UI's page and form, the chat's callback. The
/// session cookie (`name=value`) and the ID token in it.
fn sign_in(emulator: &Emulator, outputs: &Value, name: &str) -> (String, String) {
    let started = api(
        emulator,
        outputs,
        "GET",
        "/api/auth/signin?return=/",
        &[],
        "",
    );
    assert_eq!(status(&started), 302, "{started}");
    let authorize = headers(&started, "location").pop().expect("a location");
    let sign_in_cookie = cookie_pair(&started, "__Host-chat-sign-in");
    let (base, _) = authorize
        .split_once("/oauth2/authorize")
        .expect("the hosted UI");
    assert_eq!(base, format!("http://127.0.0.1:{}", emulator.raw_port()));
    let path = &authorize[base.len()..];
    let page = support::http_get(emulator.raw_port(), path).expect("the hosted UI answers");
    assert_eq!(status(&page), 200, "{page}");
    assert!(page.contains("action=\"/login\""), "{page}");
    // The hosted UI's form carries the authorize request's fields.
    let mut form: Vec<(String, String)> = query_of(&authorize).into_iter().collect();
    form.push(("username".into(), name.into()));
    form.push(("password".into(), PASSWORD.into()));
    let form: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let login = support::http_request(
        emulator.raw_port(),
        "POST",
        "/login",
        "application/x-www-form-urlencoded",
        &form,
    )
    .expect("the hosted UI's form answers");
    assert_eq!(status(&login), 302, "{login}");
    let back = headers(&login, "location").pop().expect("back to the chat");
    assert!(back.contains("/api/auth/callback?"), "{back}");
    let returned = query_of(&back);
    let callback = format!(
        "/api/auth/callback?code={}&state={}",
        returned["code"], returned["state"]
    );
    let done = api(
        emulator,
        outputs,
        "GET",
        &callback,
        &[("Cookie", &sign_in_cookie)],
        "",
    );
    assert_eq!(status(&done), 303, "{done}");
    let session = cookie_pair(&done, "__Host-chat-session");
    let token = session.split_once('=').expect("pair").1.to_string();
    // The refresh token renews the session once its hour is up: here with
    // the session cookie gone, against the pool's token endpoint.
    let refresh = cookie_pair(&done, "__Host-chat-refresh");
    let renewed = api(
        emulator,
        outputs,
        "GET",
        "/api/auth/session",
        &[("Cookie", &refresh)],
        "",
    );
    let body: Value = serde_json::from_str(body_of(&renewed)).expect("JSON");
    assert_eq!(
        (body["signed_in"].clone(), body["name"].clone()),
        (json!(true), json!(name)),
        "{renewed}"
    );
    assert!(renewed.contains("__Host-chat-session=ey"), "{renewed}");
    (session, token)
}

/// An ID token with the claims of `like`, changed by `changes`, signed
/// with `key` under key id `kid`.
fn signed(like: &str, changes: Value, key: &jsonwebtoken::EncodingKey, kid: &str) -> String {
    use jsonwebtoken::{decode_header, Header};
    let payload = like.split('.').nth(1).expect("payload");
    let mut claims: Value = serde_json::from_slice(&base64_decode(payload)).expect("claims");
    for (key, value) in changes.as_object().expect("object") {
        claims[key] = value.clone();
    }
    let mut header = Header::new(decode_header(like).expect("header").alg);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, &claims, key).expect("signed")
}

/// The key the emulator signs `pool`'s ID tokens with (from its state).
fn pem_key(emulator: &Emulator, pool: &str) -> jsonwebtoken::EncodingKey {
    let path = emulator
        .state_dir()
        .join(format!("cognito-pool-keys/{pool}-id.pem"));
    let pem = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    jsonwebtoken::EncodingKey::from_rsa_pem(&pem).expect("an RSA key")
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64url")
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("header")
        .kid
        .expect("kid")
}

/// The status the deployed connect function answers a `$connect` with
/// `query` (API Gateway refuses the handshake with it; the emulator
/// refuses every handshake with 403 whatever the function answered).
fn connect_status(emulator: &Emulator, project: &Project, query: Value) -> i64 {
    let sample = support::project::repo().join("handlers/chat-core/samples/connect.json");
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(sample).expect("the sample")).expect("JSON");
    event["queryStringParameters"] = query;
    event["requestContext"]["connectionId"] = json!(format!("probe-{}", fastrand::u32(..)));
    let output = chatctl(emulator, project)
        .args(["invoke", "connect", "--event", "-"])
        .write_stdin(event.to_string())
        .output()
        .expect("chatctl invoke");
    let answer: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    answer["statusCode"].as_i64().expect("a status")
}

/// The handshake with `query`: the socket, or the refusal's text.
async fn connect(emulator: &Emulator, outputs: &Value, query: &str) -> Result<Socket, String> {
    open_direct(emulator, outputs, query).await
}

/// Reads frames until one of `kind`, or the socket closes (`None`).
async fn until_closed(socket: &mut Socket) -> bool {
    use futures::StreamExt;
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(1), socket.next()).await {
            Ok(None) | Ok(Some(Err(_))) => return true,
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)))) => return true,
            _ => {}
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_in_people_chat_under_their_own_names_and_moderators_moderate() {
    let emulator = Emulator::start();
    let project = Project::new(
        "chat:\n  rate_limit:\n    messages: 1000\n    per_seconds: 60\nauth:\n  provider: cognito\n",
    );
    let (launched, log) = json_of(chatctl(&emulator, &project).arg("launch"), 0);
    let outputs = launched["outputs"].clone();
    let pool = outputs["UserPoolId"]
        .as_str()
        .expect("a user pool")
        .to_string();
    assert!(outputs["UserPoolClientId"].is_string(), "{outputs}");
    assert!(!log.contains("client_secret"), "{log}");

    for (name, moderator) in [("ada", false), ("bob", false), ("mo", true)] {
        support::cognito::create_user(emulator.raw_port(), &pool, name, PASSWORD, moderator);
    }
    let (ada_session, ada_token) = sign_in(&emulator, &outputs, "ada");
    let (_, bob_token) = sign_in(&emulator, &outputs, "bob");
    let (_, mo_token) = sign_in(&emulator, &outputs, "mo");

    // Refused at the handshake: no token (the function answers 401), and
    // (403) a token signed with another key under the pool's key id, an
    // expired one signed with the pool's own key, and another pool's. The
    // emulator refuses every handshake with 403, so the function's own
    // answer is read through `chatctl invoke`.
    assert!(connect(&emulator, &outputs, "room=general&name=ada")
        .await
        .is_err());
    let no_token = connect_status(
        &emulator,
        &project,
        json!({"room": "general", "name": "ada"}),
    );
    assert_eq!(no_token, 401);
    let pool_key = pem_key(&emulator, &pool);
    // Another RSA key: the one chat-core's unit tests forge with.
    let forger = jsonwebtoken::EncodingKey::from_rsa_der(
        &std::fs::read(support::project::repo().join("handlers/chat-core/fixtures/auth/other.der"))
            .expect("another RSA key"),
    );
    let forged = signed(&ada_token, json!({}), &forger, &kid_of(&ada_token));
    let expired = signed(
        &ada_token,
        json!({"exp": 1_700_000_000}),
        &pool_key,
        &kid_of(&ada_token),
    );
    let other_pool = cognito(&emulator, "CreateUserPool", json!({"PoolName": "another"}))
        ["UserPool"]["Id"]
        .as_str()
        .expect("another pool")
        .to_string();
    // The other pool's JWKS names its key: a token it would sign.
    let other_jwks = support::get_json(
        emulator.raw_port(),
        &format!("/{other_pool}/.well-known/jwks.json"),
    );
    let other_key = pem_key(&emulator, &other_pool);
    let other_kid = other_jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find_map(|k| k["kid"].as_str()))
        .expect("a key")
        .to_string();
    let foreign = signed(
        &ada_token,
        json!({"iss": format!("https://cognito-idp.us-east-1.amazonaws.com/{other_pool}")}),
        &other_key,
        &other_kid,
    );
    for (what, token) in [
        ("forged", &forged),
        ("expired", &expired),
        ("another pool's", &foreign),
    ] {
        let refusal = connect(
            &emulator,
            &outputs,
            &format!("room=general&id_token={token}"),
        )
        .await;
        assert!(refusal.is_err(), "{what} was accepted");
        let query = json!({"room": "general", "id_token": token});
        assert_eq!(connect_status(&emulator, &project, query), 403, "{what}");
    }
    // The pool's own token, unchanged, is what the function accepts.
    let query = json!({"room": "general", "id_token": ada_token});
    assert_eq!(connect_status(&emulator, &project, query), 200);

    // Accepted: the name is the token's, whatever the query says.
    let mut ada = connect(
        &emulator,
        &outputs,
        &format!("room=general&name=mallory&id_token={ada_token}"),
    )
    .await
    .expect("Ada connects");
    send(&mut ada, json!({"action": "history"})).await;
    let history = expect(&mut ada, "history").await;
    assert_eq!(history["you"]["name"], "ada");
    assert_eq!(history["you"]["verified"], true);
    assert!(history["you"].get("moderator").is_none(), "{history}");
    let mut bob = connect(
        &emulator,
        &outputs,
        &format!("room=general&id_token={bob_token}"),
    )
    .await
    .expect("Bob connects");
    let mut mo = connect(
        &emulator,
        &outputs,
        &format!("room=general&id_token={mo_token}"),
    )
    .await
    .expect("Mo connects");
    send(&mut mo, json!({"action": "history"})).await;
    assert_eq!(expect(&mut mo, "history").await["you"]["moderator"], true);

    send(
        &mut bob,
        json!({"action": "send", "text": "buy cheap watches"}),
    )
    .await;
    let troll = expect(&mut ada, "message").await["message"].clone();
    assert_eq!(
        (troll["name"].clone(), troll["verified"].clone()),
        (json!("bob"), json!(true))
    );
    let id = troll["id"].as_str().expect("id").to_string();

    // Ada is no moderator: refused, and nothing changes.
    send(
        &mut ada,
        json!({"action": "moderate", "op": "delete", "id": id}),
    )
    .await;
    assert_eq!(expect(&mut ada, "error").await["code"], "forbidden");
    send(
        &mut ada,
        json!({"action": "moderate", "op": "disconnect", "name": "bob"}),
    )
    .await;
    assert_eq!(expect(&mut ada, "error").await["code"], "forbidden");

    send(
        &mut mo,
        json!({"action": "moderate", "op": "delete", "id": id}),
    )
    .await;
    assert_eq!(expect(&mut mo, "moderated").await["count"], 1);
    assert_eq!(expect(&mut ada, "deleted").await["id"], json!(id));
    send(
        &mut mo,
        json!({"action": "moderate", "op": "disconnect", "name": "bob"}),
    )
    .await;
    assert_eq!(expect(&mut mo, "moderated").await["count"], 1);
    assert!(until_closed(&mut bob).await, "Bob's connection is closed");

    // The moderator's actions are logged with who did them.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let logs = chatctl(&emulator, &project)
            .args([
                "logs",
                "message",
                "--since",
                "10m",
                "--filter",
                "moderation",
            ])
            .output()
            .expect("chatctl logs");
        let text = String::from_utf8_lossy(&logs.stdout).to_string();
        if text.contains("moderator=\"mo\"") && text.contains("op=\"disconnect\" target=\"bob\"") {
            break;
        }
        assert!(Instant::now() < deadline, "no moderation lines: {text}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // The room page's form: with the session cookie it posts under Ada's
    // name; without it, it is refused.
    let form = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    let refused = api(
        &emulator,
        &outputs,
        "POST",
        "/api/rooms/general/messages",
        &form,
        "name=ada&text=anonymous",
    );
    assert_eq!(status(&refused), 401, "{refused}");
    assert!(body_of(&refused).contains("/api/auth/signin"), "{refused}");
    let mut with_cookie = form.to_vec();
    with_cookie.push(("Cookie", &ada_session));
    let posted = api(
        &emulator,
        &outputs,
        "POST",
        "/api/rooms/general/messages",
        &with_cookie,
        "name=mallory&text=from+the+form",
    );
    assert_eq!(status(&posted), 303, "{posted}");
    let arrived = expect(&mut ada, "message").await["message"].clone();
    assert_eq!(
        (
            arrived["name"].clone(),
            arrived["text"].clone(),
            arrived["verified"].clone()
        ),
        (json!("ada"), json!("from the form"), json!(true))
    );

    // The room page without JavaScript, as the fan-out rewrites it: a
    // sign-in link back to the room, no name field, the signed-in mark.
    let aws = support::project::aws(&emulator).await;
    let bucket = outputs["SiteBucketName"].as_str().expect("bucket");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = aws
            .s3()
            .get_object()
            .bucket(bucket)
            .key("rooms/general.html")
            .send()
            .await
            .expect("the room page");
        let page =
            String::from_utf8(page.body.collect().await.expect("body").to_vec()).expect("UTF-8");
        if page.contains("from the form") {
            assert!(
                page.contains(r#"href="/api/auth/signin?return=/rooms/general.html""#),
                "{page}"
            );
            assert!(!page.contains(r#"name="name""#), "{page}");
            assert!(page.contains(r#"class="verified""#), "{page}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the room page was not rewritten: {page}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
