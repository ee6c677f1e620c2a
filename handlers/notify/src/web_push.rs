//! The [`Pusher`] over the network: the stack's VAPID key, read once from
//! its SSM SecureString parameter, and one HTTPS request per notification
//! (chat-push builds it). A push endpoint's host name is resolved here and
//! every address checked (`chat_core::push::check_address`), and the
//! connection goes only to the checked addresses: a subscription cannot
//! make the function reach an internal address, even through a name that
//! resolves to one, or a second answer to the same name (DNS rebinding).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use chat_core::notify::Pushed;
use chat_core::ports::Pusher;
use chat_core::push::{check_address, check_endpoint, outcome, Outcome};
use chat_core::subscriptions::Subscription;
use chat_core::Settings;
use chat_push::VapidKey;
use http_body_util::Full;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use tokio::sync::OnceCell;

/// A push service that does not answer within this is asked again later.
const TIMEOUT: Duration = Duration::from_secs(10);

type Https = hyper_rustls::HttpsConnector<HttpConnector<CheckedResolver>>;

pub struct WebPush {
    ssm: aws_sdk_ssm::Client,
    parameter: String,
    subject: String,
    allow_local: bool,
    key: OnceCell<VapidKey>,
    client: Client<Https, Full<Bytes>>,
}

impl WebPush {
    pub fn new(config: &aws_config::SdkConfig, settings: &Settings) -> WebPush {
        let allow_local = settings.push_allow_local;
        let mut http = HttpConnector::new_with_resolver(CheckedResolver { allow_local });
        http.enforce_http(false);
        http.set_connect_timeout(Some(TIMEOUT));
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .map(|builder| match allow_local {
                true => builder.https_or_http(),
                false => builder.https_only(),
            });
        let tls = match tls {
            Ok(builder) => builder,
            // No root certificates: every push fails (and is retried) with
            // this logged, rather than the function failing to start.
            Err(e) => {
                tracing::error!(error = %e, "no root certificates");
                hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(
                        rustls::ClientConfig::builder_with_provider(
                            rustls::crypto::ring::default_provider().into(),
                        )
                        .with_safe_default_protocol_versions()
                        .map(|b| {
                            b.with_root_certificates(rustls::RootCertStore::empty())
                                .with_no_client_auth()
                        })
                        .unwrap_or_else(|_| unreachable!("ring supports TLS 1.2 and 1.3")),
                    )
                    .https_only()
            }
        };
        let connector = tls.enable_http1().wrap_connector(http);
        WebPush {
            ssm: aws_sdk_ssm::Client::new(config),
            parameter: settings.vapid_parameter.clone(),
            subject: settings.vapid_subject.clone(),
            allow_local,
            key: OnceCell::new(),
            client: Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector),
        }
    }

    /// The VAPID key, read from SSM on the first notification of the process.
    async fn key(&self) -> Result<&VapidKey, String> {
        self.key
            .get_or_try_init(|| async {
                let out = self
                    .ssm
                    .get_parameter()
                    .name(&self.parameter)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| aws_sdk_ssm::error::DisplayErrorContext(e).to_string())?;
                let value = out
                    .parameter
                    .and_then(|p| p.value)
                    .ok_or_else(|| format!("{} has no value", self.parameter))?;
                VapidKey::from_base64url(&value).map_err(|e| e.to_string())
            })
            .await
    }
}

impl Pusher for WebPush {
    async fn push(&self, subscription: &Subscription, payload: &[u8]) -> Pushed {
        // Stored subscriptions were checked when stored; checked again, as
        // the rules or the stack's `--local` may have changed since.
        if let Err(e) = check_endpoint(&subscription.endpoint, self.allow_local) {
            tracing::warn!(error = %e, "a subscription's endpoint may not be sent to: removed");
            return Pushed::of(Outcome::Gone);
        }
        let key = match self.key().await {
            Ok(key) => key,
            Err(e) => {
                tracing::error!(parameter = self.parameter, error = %e, "the VAPID key is unreadable");
                return Pushed::of(Outcome::Retry);
            }
        };
        let browser = chat_push::Subscription {
            endpoint: subscription.endpoint.clone(),
            p256dh: subscription.p256dh.clone(),
            auth: subscription.auth.clone(),
        };
        let now = chat_core::now_seconds();
        let request = match chat_push::request(&browser, key, payload, now, &self.subject) {
            Ok(request) => request,
            Err(e) => {
                tracing::warn!(error = %e, "no notification for this subscription");
                return Pushed::of(Outcome::Refused);
            }
        };
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        match tokio::time::timeout(TIMEOUT, self.client.request(request)).await {
            Ok(Ok(response)) => {
                let retry_after = response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                Pushed {
                    outcome: outcome(response.status().as_u16()),
                    retry_after,
                }
            }
            Ok(Err(e)) => {
                // Never the endpoint itself: its path is the subscription's secret.
                tracing::warn!(error = %e, "the push service was not reached");
                Pushed::of(Outcome::Retry)
            }
            Err(_) => Pushed::of(Outcome::Retry),
        }
    }
}

/// Resolves push services' names to the addresses that may be reached.
#[derive(Debug, Clone, Copy)]
struct CheckedResolver {
    allow_local: bool,
}

type Resolving =
    Pin<Box<dyn Future<Output = std::io::Result<std::vec::IntoIter<SocketAddr>>> + Send>>;

impl tower_service::Service<Name> for CheckedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Resolving;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow_local = self.allow_local;
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|address| check_address(address.ip(), allow_local).is_ok())
                .collect();
            if allowed.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{} resolves only to internal addresses", name.as_str()),
                ));
            }
            Ok(allowed.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use tower_service::Service;

    use super::*;

    #[tokio::test]
    async fn a_name_for_an_internal_address_is_not_resolved() {
        let mut strict = CheckedResolver { allow_local: false };
        let name: Name = "localhost".parse().expect("a name");
        let refused = strict.call(name.clone()).await.expect_err("loopback");
        assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied);
        let mut local = CheckedResolver { allow_local: true };
        let found: Vec<SocketAddr> = local.call(name).await.expect("under --local").collect();
        assert!(found.iter().all(|a| a.ip().is_loopback()) && !found.is_empty());
    }
}
