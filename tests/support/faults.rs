//! A fault-injection proxy between chatctl and the emulator, on 127.0.0.1.
//!
//! Each request draws from a seeded random generator, in arrival order:
//! with probability `share` it gets a fault, the next in turn (from a
//! seeded start) of throttling (in the wire format of the service the request is signed
//! for, so the SDK sees the same error AWS sends), 500, 503, a slow answer
//! and a dropped connection. Everything else is forwarded untouched. The
//! same seed and the same request sequence give the same faults; requests
//! that run in parallel (site uploads) may arrive in another order.
//!
//! All faults but a lost answer keep the request from the emulator; a lost
//! answer lets it through and drops the reply, so a retry repeats work that
//! was done (as when a connection to AWS breaks mid-answer).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::TRANSFER_ENCODING;
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::aws_rules::{aws_error, forward, signed_service};
use super::server::Server;

/// How long a slow answer waits before it is forwarded.
const SLOW: Duration = Duration::from_millis(1500);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    Throttle,
    InternalError,
    Unavailable,
    Slow,
    /// The connection closes before the request is forwarded.
    Drop,
    /// The request is forwarded and done, then the connection closes
    /// before the answer: the client cannot tell it from `Drop`, and its
    /// retry repeats a request that already took effect.
    LostAnswer,
}

pub const FAULTS: [Fault; 6] = [
    Fault::Throttle,
    Fault::InternalError,
    Fault::Unavailable,
    Fault::Slow,
    Fault::Drop,
    Fault::LostAnswer,
];

/// What the proxy did, for the test to show and check.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub requests: u64,
    /// Requests held by `stall`.
    pub stalled: u64,
    pub faults: BTreeMap<Fault, u64>,
    /// Faulted requests by `service operation-ish path`, to see what was hit.
    pub services: BTreeMap<String, u64>,
}

struct State {
    rng: fastrand::Rng,
    share: f64,
    kinds: Vec<Fault>,
    next_fault: usize,
    /// Requests with this method (any when empty) whose path or body
    /// contains this text are held this long, before forwarding or (when
    /// the flag is set) after, with the answer held back.
    stall: Option<(String, String, Duration, bool)>,
    /// Requests whose path contains this text always get a 503.
    failing: Option<String>,
    tally: Tally,
}

pub struct FaultProxy {
    server: Server,
    state: Arc<Mutex<State>>,
    /// Ends every hold in progress.
    release: Arc<tokio::sync::Notify>,
}

impl FaultProxy {
    /// Starts a proxy to `127.0.0.1:upstream` faulting `share` of requests.
    pub fn start(upstream: u16, share: f64, seed: u64) -> FaultProxy {
        FaultProxy::start_with(upstream, share, seed, &FAULTS)
    }

    /// The same, with only these kinds of fault.
    pub fn start_with(upstream: u16, share: f64, seed: u64, kinds: &[Fault]) -> FaultProxy {
        let mut rng = fastrand::Rng::with_seed(seed);
        let next_fault = rng.usize(..kinds.len());
        let state = Arc::new(Mutex::new(State {
            rng,
            share,
            kinds: kinds.to_vec(),
            next_fault,
            stall: None,
            failing: None,
            tally: Tally::default(),
        }));
        let release = Arc::new(tokio::sync::Notify::new());
        let (shared, released) = (state.clone(), release.clone());
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        let server = Server::start("fault proxy", move |stream| {
            let (client, state, released) = (client.clone(), shared.clone(), released.clone());
            async move {
                let service = hyper::service::service_fn(move |request| {
                    handle(
                        client.clone(),
                        state.clone(),
                        released.clone(),
                        upstream,
                        request,
                    )
                });
                // An error here is a dropped connection, which is the point.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            }
        });
        FaultProxy {
            server,
            state,
            release,
        }
    }

    /// Holds every `method` request (any method when empty) whose path or
    /// body contains `fragment` for `hold` before forwarding it: a window in
    /// which a test can interrupt chatctl at a known point.
    pub fn stall(&self, method: &str, fragment: &str, hold: Duration) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).stall =
            Some((method.to_string(), fragment.to_string(), hold, false));
    }

    /// The same, but the request is forwarded at once and its answer held:
    /// the emulator has done the work, chatctl does not know it yet.
    pub fn stall_answer(&self, method: &str, fragment: &str, hold: Duration) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).stall =
            Some((method.to_string(), fragment.to_string(), hold, true));
    }

    /// Answers every request whose path contains `fragment` with a 503, as
    /// long as the proxy runs: a call that fails after every retry.
    pub fn fail(&self, fragment: &str) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).failing = Some(fragment.to_string());
    }

    /// Lets every held request go on now.
    pub fn release(&self) {
        self.release.notify_waiters();
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    pub fn tally(&self) -> Tally {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .tally
            .clone()
    }
}

#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fault proxy")
    }
}

impl std::error::Error for Dropped {}

async fn handle(
    client: Client<HttpConnector, Full<Bytes>>,
    state: Arc<Mutex<State>>,
    released: Arc<tokio::sync::Notify>,
    upstream: u16,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let service = signed_service(request.headers());
    let fault = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        state.tally.requests += 1;
        // Unsigned requests are the emulator's own (CloudFormation reading a
        // template URL): inside AWS, not between chatctl and AWS.
        let roll = state.rng.f64();
        let failing = state
            .failing
            .as_ref()
            .is_some_and(|f| request.uri().path().contains(f.as_str()));
        let fault = if failing {
            Some(Fault::Unavailable)
        } else if roll < state.share && service != "unsigned" {
            state.next_fault = (state.next_fault + 1) % state.kinds.len();
            Some(state.kinds[state.next_fault])
        } else {
            None
        };
        if let Some(fault) = fault {
            *state.tally.faults.entry(fault).or_default() += 1;
            *state.tally.services.entry(service.clone()).or_default() += 1;
        }
        fault
    };
    let (parts, body) = request.into_parts();
    // Read the whole request first, as a server would before answering.
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    let hold = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        let hold = state
            .stall
            .as_ref()
            .and_then(|(method, fragment, hold, after)| {
                let method_matches = method.is_empty() || parts.method.as_str() == method;
                let text = String::from_utf8_lossy(&body);
                let matches = parts.uri.path().contains(fragment.as_str())
                    || text.contains(fragment.as_str());
                (method_matches && matches).then_some((*hold, *after))
            });
        if hold.is_some() {
            state.tally.stalled += 1;
        }
        hold
    };
    if let Some((hold, false)) = hold {
        held(hold, &released).await;
    }
    match fault {
        Some(Fault::Drop) => return Err(Dropped),
        Some(Fault::Slow) => tokio::time::sleep(SLOW).await,
        Some(Fault::LostAnswer) | None => {}
        Some(fault) => return Ok(error_response(&service, fault)),
    }
    let answer = forward(&client, upstream, &parts, body)
        .await
        .map_err(|_| Dropped)?;
    if fault == Some(Fault::LostAnswer) {
        // Read the answer, so the work is surely done, then drop it.
        let _ = answer.into_body().collect().await;
        return Err(Dropped);
    }
    let (mut parts, body) = answer.into_parts();
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    parts.headers.remove(TRANSFER_ENCODING);
    if let Some((hold, true)) = hold {
        held(hold, &released).await;
    }
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// Holds a request until `hold` passes or the test releases it.
async fn held(hold: Duration, released: &tokio::sync::Notify) {
    tokio::select! {
        _ = tokio::time::sleep(hold) => {}
        _ = released.notified() => {}
    }
}

/// The error each service's protocol uses, as AWS sends it.
fn error_response(service: &str, fault: Fault) -> Response<Full<Bytes>> {
    let (status, code, message) = match (service, fault) {
        ("s3", Fault::Throttle) => (503, "SlowDown", "Please reduce your request rate."),
        ("lambda", Fault::Throttle) => (429, "TooManyRequestsException", "Rate exceeded"),
        ("dynamodb", Fault::Throttle) => (400, "ThrottlingException", "Rate exceeded"),
        (_, Fault::Throttle) => (400, "Throttling", "Rate exceeded"),
        ("s3", Fault::InternalError) => (500, "InternalError", "We encountered an internal error."),
        ("lambda", Fault::InternalError) => (500, "ServiceException", "Internal error"),
        (_, Fault::InternalError) => (500, "InternalFailure", "Internal failure"),
        (_, _) => (503, "ServiceUnavailable", "Service unavailable"),
    };
    aws_error(service, status, code, message)
}
