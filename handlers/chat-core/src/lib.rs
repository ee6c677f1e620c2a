//! The chat's domain, shared by its Lambda handlers: the rules every entry
//! point enforces, the message model, DynamoDB storage, the WebSocket frames,
//! HTML rendering and the fan-out. Each function crate is a thin `main` over
//! one of the `handle_*` modules here, so the logic is tested in one place.

pub mod auth;
pub mod clients;
pub mod connect;
pub mod delivery;
pub mod fanout;
pub mod frames;
pub mod http;
pub mod ingest;
pub mod limits;
pub mod live;
#[cfg(test)]
pub mod memory;
pub mod message;
pub mod model;
pub mod moderate;
pub mod notify;
pub mod origin;
pub mod ports;
pub mod presence;
pub mod push;
pub mod queued;
pub mod render;
pub mod sealed;
pub mod settings;
pub mod slots;
pub mod store;
pub mod subscriptions;
#[cfg(test)]
pub mod test_events;
pub mod validate;

pub use settings::Settings;
pub use validate::{validate_name, validate_room, validate_text, ValidationError};

/// Sets up JSON logs (Lambda's `LogFormat: JSON`) once per process.
pub fn init_logging() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// Every function's `main`: JSON logs, the settings from the environment
/// (or, when they are wrong, every invocation refused with the reason),
/// what the function reaches built once per process by `reach`, and the
/// runtime calling `handler` for each event.
pub async fn serve<T, A, R, Fut>(
    reach: impl FnOnce(&aws_config::SdkConfig, Settings) -> T,
    handler: impl Fn(&'static T, lambda_runtime::LambdaEvent<A>) -> Fut,
) -> Result<(), lambda_runtime::Error>
where
    T: Sync + 'static,
    A: serde::de::DeserializeOwned,
    R: serde::Serialize,
    Fut: std::future::Future<Output = Result<R, lambda_runtime::Error>>,
{
    init_logging();
    let config = clients::sdk_config().await;
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => return refuse_invocations(e).await,
    };
    // Lives as long as the process: the clients are reused by every invocation.
    let reached: &'static T = Box::leak(Box::new(reach(&config, settings)));
    lambda_runtime::run(lambda_runtime::service_fn(|event| handler(reached, event))).await
}

/// What a function does when its environment lacks a chat limit or gives
/// one badly (`Settings::from_env`): it logs why, then fails every
/// invocation with that reason, rather than run on defaults it was not given.
pub async fn refuse_invocations(
    error: chat_limits::LimitError,
) -> Result<(), lambda_runtime::Error> {
    let reason = error.to_string();
    tracing::error!(error = %reason, "misconfigured: every invocation fails until the environment is fixed");
    lambda_runtime::run(lambda_runtime::service_fn(
        move |_: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let reason = reason.clone();
            async move { Err::<serde_json::Value, lambda_runtime::Error>(reason.into()) }
        },
    ))
    .await
}

/// Seconds since the Unix epoch.
pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod sample_events {
    //! The sample events the build test sends to each built binary decode
    //! into the handlers' event types.

    use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayWebsocketProxyRequest};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/events");

    fn read(name: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}/{name}.json")).expect("fixture")
    }

    #[test]
    fn every_sample_event_decodes() {
        for name in ["connect", "disconnect", "message"] {
            serde_json::from_str::<ApiGatewayWebsocketProxyRequest>(&read(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        serde_json::from_str::<ApiGatewayV2httpRequest>(&read("http")).expect("http");
        serde_json::from_str::<aws_lambda_events::dynamodb::Event>(&read("fanout"))
            .expect("fanout");
        serde_json::from_str::<aws_lambda_events::sns::SnsEvent>(&read("ingest")).expect("ingest");
    }

    /// `chatctl invoke --sample`'s events (chat-core/samples, embedded in chatctl), by the
    /// handler each is for, decoded as that handler decodes its events.
    #[test]
    fn every_invoke_sample_decodes_as_its_handler_reads_it() {
        const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples");
        let read = |name: &str| {
            std::fs::read_to_string(format!("{SAMPLES}/{name}.json"))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        let mut decoded = 0;
        for name in ["connect", "disconnect", "send"] {
            let event: ApiGatewayWebsocketProxyRequest =
                serde_json::from_str(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(event.request_context.connection_id.is_some(), "{name}");
            decoded += 1;
        }
        let send: ApiGatewayWebsocketProxyRequest =
            serde_json::from_str(&read("send")).expect("send");
        assert_eq!(crate::message::action_of(send.body.as_deref()), "send");
        for name in ["http-get", "http-form-post"] {
            serde_json::from_str::<ApiGatewayV2httpRequest>(&read(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            decoded += 1;
        }
        let post: ApiGatewayV2httpRequest =
            serde_json::from_str(&read("http-form-post")).expect("http-form-post");
        assert!(
            crate::http::read_post(&post, 2_000).is_ok(),
            "a valid form post"
        );
        let stream: aws_lambda_events::dynamodb::Event =
            serde_json::from_str(&read("stream-insert")).expect("stream-insert");
        let (room, frame) = crate::fanout::frame_of(&stream.records[0]).expect("a message");
        assert_eq!((room.as_str(), frame.kind()), ("general", "message"));
        let connected: aws_lambda_events::dynamodb::Event =
            serde_json::from_str(&read("stream-connect")).expect("stream-connect");
        let records: Vec<_> = connected.records.iter().collect();
        assert!(crate::presence::is_connection_record(records[0]));
        let (rooms, unreadable) = crate::presence::changes_by_room(&records);
        assert!(unreadable.is_empty() && rooms.contains_key("general"));
        let sns: aws_lambda_events::sns::SnsEvent =
            serde_json::from_str(&read("sns")).expect("sns");
        crate::ingest::message_of(&sns.records[0], 2_000, 30, 0).expect("a valid message");
        decoded += 3;
        let files = std::fs::read_dir(SAMPLES).expect("samples").count();
        assert_eq!(decoded, files, "every sample file is decoded here");
    }
}
