//! The `ingest` Lambda function (the SNS topic: the tables are all it reaches): a thin
//! binary over `chat_core::ingest::handle`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    chat_core::serve(chat_core::clients::store, chat_core::ingest::handle).await
}
