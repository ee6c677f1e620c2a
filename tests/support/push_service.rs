//! A browser's push service on 127.0.0.1, for the notify function on the
//! emulator: it accepts `POST /push/NAME` only with a valid VAPID signature
//! (RFC 8292: ES256 over the claims, `aud` this service's origin, `exp`
//! within 24 hours) and decrypts the payload (RFC 8291) with the private
//! key of the browser it made the subscription for, as a real push
//! service and browser would. A test queues other answers (410, 500) per
//! browser.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use super::server::Server;

/// One browser: its subscription's private half.
struct Browser {
    secret: chat_push::verify::SecretKey,
    auth: [u8; 16],
}

/// What the service received for one browser.
#[derive(Debug, Clone)]
pub struct Received {
    /// When it arrived.
    pub at: Instant,
    /// The answer given.
    pub status: u16,
    /// The decrypted payload (accepted requests only).
    pub payload: Option<Value>,
    /// The VAPID public key the request was signed with (`k=`).
    pub key: String,
    /// Why the request was refused, when it was not properly signed or encrypted.
    pub refused: Option<String>,
}

#[derive(Default)]
struct State {
    browsers: HashMap<String, Browser>,
    answers: HashMap<String, VecDeque<u16>>,
    received: HashMap<String, Vec<Received>>,
}

pub struct PushService {
    state: Arc<Mutex<State>>,
    server: Server,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl PushService {
    pub fn start() -> PushService {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let server = Server::start("push service", move |stream| {
            let state = shared.clone();
            async move {
                let _ = serve(stream, state).await;
            }
        });
        PushService { state, server }
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    /// A new browser's subscription (`PushSubscription.toJSON()`) at
    /// `/push/NAME`.
    pub fn subscribe(&self, name: &str) -> Value {
        let endpoint = format!("{}/push/{name}", self.origin());
        let (subscription, secret, auth) = chat_push::verify::browser(&endpoint);
        lock(&self.state)
            .browsers
            .insert(name.to_string(), Browser { secret, auth });
        serde_json::json!({
            "endpoint": subscription.endpoint,
            "keys": { "p256dh": subscription.p256dh, "auth": subscription.auth },
        })
    }

    /// The next answers for `name`'s pushes (then 201).
    pub fn will_answer(&self, name: &str, statuses: &[u16]) {
        lock(&self.state)
            .answers
            .insert(name.to_string(), statuses.iter().copied().collect());
    }

    pub fn received(&self, name: &str) -> Vec<Received> {
        lock(&self.state)
            .received
            .get(name)
            .cloned()
            .unwrap_or_default()
    }

    /// Every browser's requests so far, by name.
    pub fn all_received(&self) -> HashMap<String, Vec<Received>> {
        lock(&self.state).received.clone()
    }

    /// Waits (at most `within`) until `name` has `count` requests.
    pub fn wait_for(&self, name: &str, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received(name);
            if received.len() >= count || Instant::now() > deadline {
                return received;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

async fn serve(stream: tokio::net::TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).await?;
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.trim_end().split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length.min(8192)];
    reader.read_exact(&mut body).await?;
    let path = request_line.split_whitespace().nth(1).unwrap_or_default();
    let name = path.strip_prefix("/push/").unwrap_or_default().to_string();
    let origin = format!(
        "http://{}",
        headers.get("host").cloned().unwrap_or_default()
    );
    let status = answer(&state, &name, &headers, body, &origin);
    let response =
        format!("HTTP/1.1 {status} Push\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    reader.get_mut().write_all(response.as_bytes()).await
}

/// Checks and records one push; the status to answer.
fn answer(
    state: &Mutex<State>,
    name: &str,
    headers: &HashMap<String, String>,
    body: Vec<u8>,
    origin: &str,
) -> u16 {
    let mut state = lock(state);
    let authorization = headers.get("authorization").cloned().unwrap_or_default();
    let key = authorization
        .split_once(", k=")
        .map(|(_, k)| k.to_string())
        .unwrap_or_default();
    let checked = match state.browsers.get(name) {
        None => Err("no such subscription".to_string()),
        Some(browser) => chat_push::verify::verified_claims(&authorization, origin, now())
            .and_then(
                |_| match headers.get("content-encoding").map(String::as_str) {
                    Some("aes128gcm") => Ok(()),
                    other => Err(format!("content-encoding {other:?}")),
                },
            )
            .and_then(|_| chat_push::verify::decrypt(body, &browser.secret, &browser.auth))
            .and_then(|plain| serde_json::from_slice::<Value>(&plain).map_err(|e| e.to_string())),
    };
    let queued = state.answers.get_mut(name).and_then(VecDeque::pop_front);
    let (status, payload, refused) = match checked {
        Ok(payload) => (queued.unwrap_or(201), Some(payload), None),
        Err(why) => (403, None, Some(why)),
    };
    state
        .received
        .entry(name.to_string())
        .or_default()
        .push(Received {
            at: Instant::now(),
            status,
            payload,
            key,
            refused,
        });
    status
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
