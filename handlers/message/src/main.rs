//! The `message` Lambda function: a thin binary over `chat_core::message::handle`.

use lambda_runtime::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    chat_core::init_logging();
    // Loaded once per process, not per invocation.
    let clients = chat_core::Clients::load(chat_core::Settings::from_env()).await;
    lambda_runtime::run(service_fn(|event| {
        chat_core::message::handle(&clients, event)
    }))
    .await
}
