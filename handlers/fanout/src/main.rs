//! The `fanout` Lambda function: a thin binary over `chat_core::fanout::handle_any` (the stream and the delivery queue).

use chat_core::fanout::Fanout;
use lambda_runtime::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    chat_core::init_logging();
    // Loaded once per process, not per invocation.
    let config = chat_core::clients::sdk_config().await;
    let settings = match chat_core::Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => return chat_core::refuse_invocations(e).await,
    };
    let fanout = Fanout {
        management: chat_core::clients::management(&config, &settings),
        s3: chat_core::clients::s3(&config),
        sqs: chat_core::clients::sqs(&config),
        store: chat_core::clients::store(&config, settings),
    };
    lambda_runtime::run(service_fn(|event| {
        chat_core::fanout::handle_any(&fanout, event)
    }))
    .await
}
