//! The `connect` Lambda function (`$connect`: the tables are all it reaches): a thin
//! binary over `chat_core::connect::handle_connect`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    chat_core::serve(
        chat_core::clients::store,
        chat_core::connect::handle_connect,
    )
    .await
}
