//! WebSocket clients of the deployed chat, on the emulator's WebSocket API.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::Emulator;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a frame may take to arrive (the stream fan-out takes about a second).
pub const FRAME_WAIT: Duration = Duration::from_secs(15);

pub async fn open(emulator: &Emulator, outputs: &Value, query: &str) -> Socket {
    let url = format!(
        "ws://127.0.0.1:{}/_aws/execute-api/{}/{}?{query}",
        emulator.port(),
        outputs["WebSocketApiId"].as_str().expect("api id"),
        outputs["WebSocketStageName"].as_str().expect("stage"),
    );
    let (socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("WebSocket connects");
    socket
}

/// Like [`open`], straight to the emulator's port, past the rules layer
/// (which costs this process two more descriptors a socket); `Err` says why.
pub async fn open_direct(
    emulator: &Emulator,
    outputs: &Value,
    query: &str,
) -> Result<Socket, String> {
    let url = format!(
        "ws://127.0.0.1:{}/_aws/execute-api/{}/{}?{query}",
        emulator.raw_port(),
        outputs["WebSocketApiId"].as_str().expect("api id"),
        outputs["WebSocketStageName"].as_str().expect("stage"),
    );
    tokio_tungstenite::connect_async(url)
        .await
        .map(|(socket, _)| socket)
        .map_err(|e| e.to_string())
}

/// Like [`open`], from another loopback address (127.0.0.2 and so on): the
/// chat sees another client's source address. `Err` is a refused handshake.
pub async fn open_from(
    emulator: &Emulator,
    outputs: &Value,
    query: &str,
    source: std::net::Ipv4Addr,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let url = format!(
        "ws://127.0.0.1:{}/_aws/execute-api/{}/{}?{query}",
        emulator.port(),
        outputs["WebSocketApiId"].as_str().expect("api id"),
        outputs["WebSocketStageName"].as_str().expect("stage"),
    );
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind((source, 0).into())
        .expect("bind a loopback address");
    let stream = socket
        .connect(([127, 0, 0, 1], emulator.port()).into())
        .await
        .expect("TCP connects");
    let (socket, _) =
        tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(stream))
            .await?;
    Ok(socket)
}

pub async fn send(socket: &mut Socket, frame: Value) {
    socket
        .send(WsMessage::text(frame.to_string()))
        .await
        .expect("send frame");
}

/// The next frame whose `type` is `kind`, skipping others; panics after FRAME_WAIT.
pub async fn expect(socket: &mut Socket, kind: &str) -> Value {
    let deadline = tokio::time::Instant::now() + FRAME_WAIT;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no `{kind}` frame within {FRAME_WAIT:?}"));
        let Some(Ok(WsMessage::Text(text))) = next else {
            continue;
        };
        let frame: Value = serde_json::from_str(text.as_str()).expect("frames are JSON");
        if frame["type"] == kind {
            return frame;
        }
    }
}
