//! The `http` Lambda function (the HTTP API: the tables, and with sign-in
//! on the user pool's JWKS and token endpoint): a thin binary over
//! `chat_core::http::handle_signed`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    chat_core::serve(
        |config, settings| {
            (
                chat_core::auth::cognito::verifier(&settings),
                chat_core::clients::store(config, settings),
            )
        },
        |(sign_in, store), event| chat_core::http::handle_signed(store, sign_in, event),
    )
    .await
}
