//! The `http` Lambda function: a thin binary over `chat_core::http::handle`.

use lambda_runtime::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    chat_core::init_logging();
    // Loaded once per process, not per invocation; DynamoDB is all it reaches.
    let config = chat_core::clients::sdk_config().await;
    let settings = match chat_core::Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => return chat_core::refuse_invocations(e).await,
    };
    let store = chat_core::clients::store(&config, settings);
    lambda_runtime::run(service_fn(|event| chat_core::http::handle(&store, event))).await
}
