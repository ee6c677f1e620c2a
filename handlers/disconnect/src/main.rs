//! The `disconnect` Lambda function (`$disconnect`: the tables are all it reaches): a thin
//! binary over `chat_core::connect::handle_disconnect`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    chat_core::serve(
        chat_core::clients::store,
        chat_core::connect::handle_disconnect,
    )
    .await
}
