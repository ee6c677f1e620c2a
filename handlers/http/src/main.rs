//! The `http` function. Its behaviour lands with issue 4; until then every
//! invocation fails with a clear error rather than a silent success.

use lambda_runtime::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(chat_core::not_implemented)).await
}
