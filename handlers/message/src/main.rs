//! The `message` Lambda function (the WebSocket's send, edit, delete and
//! history routes: the tables, and the management API for replies to the
//! caller): a thin binary over `chat_core::message::handle`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    chat_core::serve(
        |config, settings| {
            (
                chat_core::clients::management(config, &settings),
                chat_core::clients::store(config, settings),
            )
        },
        |(management, store), event| chat_core::message::handle(store, management, event),
    )
    .await
}
