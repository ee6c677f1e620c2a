//! The `http` Lambda function (the HTTP API: the tables are all it reaches): a thin
//! binary over `chat_core::http::handle`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    chat_core::serve(chat_core::clients::store, chat_core::http::handle).await
}
