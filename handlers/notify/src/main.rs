//! The `notify` Lambda function (the notify queue): a thin binary over
//! `chat_core::notify::handle`, with the Web Push sender (`web_push`).

mod web_push;

use std::time::Duration;

use chat_core::notify::Notify;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    chat_core::serve(
        |config, settings| Notify {
            pusher: web_push::WebPush::new(config, &settings),
            queue: chat_core::clients::queues(config, &settings),
            store: chat_core::clients::store(config, settings),
            pause: Duration::from_secs(1),
        },
        chat_core::notify::handle,
    )
    .await
}
