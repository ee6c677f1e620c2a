//! The `fanout` Lambda function (the Messages stream and the delivery
//! queue): a thin binary over `chat_core::fanout::handle_any`.

use chat_core::fanout::Fanout;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    chat_core::serve(
        |config, settings| Fanout {
            poster: chat_core::clients::management(config, &settings),
            site: chat_core::clients::site_bucket(config, &settings),
            queue: chat_core::clients::queues(config, &settings),
            store: chat_core::clients::store(config, settings),
        },
        chat_core::fanout::handle_any,
    )
    .await
}
