//! AWS's documented rules where the emulator is lenient, enforced between
//! everyone and the emulator: chatctl, the tests' own SDK clients and the
//! deployed handlers (whose `AWS_ENDPOINT_URL` and management endpoint
//! point here) all reach ministack through this layer. Every emulator a test
//! starts (`Emulator::start`) has it; `docs/reliability.md` lists the rules.
//!
//! Each rule is one function that looks at a request and either lets it
//! through (`None`) or answers as AWS would. WebSocket upgrades are spliced
//! through untouched.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE, EXPECT, TRANSFER_ENCODING};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::server::Server;

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// The emulator behind the layer: its port, a client to reach it, the TTL
/// settings the layer keeps in its place (rule 4), and the tables it shows
/// as still `DELETING` (rule 7).
#[derive(Clone)]
pub struct Upstream {
    pub client: HttpClient,
    pub port: u16,
    ttl: Arc<Mutex<std::collections::HashMap<String, serde_json::Value>>>,
    deleting: Arc<Mutex<std::collections::HashMap<String, std::time::Instant>>>,
    /// Rule 8's budget, when a test sets one.
    posts: Arc<Mutex<Option<super::post_budget::PostBudget>>>,
    /// Rule 11: change sets AWS would fail to execute, by name, and why.
    pub doomed: Arc<Mutex<std::collections::HashMap<String, String>>>,
}

/// Which rule refused how many requests, for tests to check.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refusals {
    pub payload_too_large: u64,
    pub bucket_not_empty: u64,
    pub invalid_invalidation_path: u64,
    /// ListTables pages served (the layer pages every listing).
    pub list_tables_pages: u64,
    /// PostToConnection calls answered 429 (rule 8).
    pub throttled_posts: u64,
    /// Web ACL misuse refused (rules 9 and 10).
    pub web_acl: u64,
    /// Updates that would change several indexes of one table (rule 11).
    pub index_changes: u64,
}

pub struct RulesLayer {
    server: Server,
    refusals: Arc<Mutex<Refusals>>,
    /// Every region a signed request named, for rule 3's check.
    regions: Arc<Mutex<std::collections::BTreeSet<String>>>,
    /// Every request's operation, in order (`operation_of`).
    operations: Arc<Mutex<Vec<String>>>,
    posts: Arc<Mutex<Option<super::post_budget::PostBudget>>>,
}

impl RulesLayer {
    /// Listens on a free 127.0.0.1 port; forwards to `127.0.0.1:upstream`
    /// (which need not be listening yet).
    pub fn start(upstream: u16) -> RulesLayer {
        let refusals = Arc::new(Mutex::new(Refusals::default()));
        let regions = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
        let operations = Arc::new(Mutex::new(Vec::new()));
        let emulator = Upstream {
            client: Client::builder(TokioExecutor::new()).build(HttpConnector::new()),
            port: upstream,
            ttl: Arc::default(),
            deleting: Arc::default(),
            posts: Arc::default(),
            doomed: Arc::default(),
        };
        let posts = emulator.posts.clone();
        let shared = (refusals.clone(), regions.clone(), operations.clone());
        let server = Server::start("rules layer", move |stream| {
            let (refusals, regions, operations) = shared.clone();
            serve(stream, emulator.clone(), refusals, regions, operations)
        });
        RulesLayer {
            server,
            refusals,
            regions,
            operations,
            posts,
        }
    }

    /// Throttles PostToConnection as AWS's account limit does (rule 8).
    pub fn limit_posts(&self, per_second: f64, burst: f64) {
        *self.posts.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(super::post_budget::PostBudget::new(per_second, burst));
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// The regions requests named so far.
    pub fn regions(&self) -> Vec<String> {
        self.regions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Every request's operation so far, in order (`service:Operation`).
    pub fn operations(&self) -> Vec<String> {
        self.operations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn refusals(&self) -> Refusals {
        self.refusals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// One client connection: a WebSocket upgrade is spliced to the emulator
/// byte for byte; anything else is HTTP, request by request.
async fn serve(
    stream: tokio::net::TcpStream,
    upstream: Upstream,
    refusals: Arc<Mutex<Refusals>>,
    regions: Arc<Mutex<std::collections::BTreeSet<String>>>,
    operations: Arc<Mutex<Vec<String>>>,
) {
    if is_websocket_upgrade(&stream).await {
        if let Ok(mut emulator) = connect_as_client(&stream, upstream.port).await {
            let mut stream = stream;
            let _ = tokio::io::copy_bidirectional(&mut stream, &mut emulator).await;
        }
        return;
    }
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        if let Some(region) = signed_region(request.headers()) {
            regions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(region);
        }
        operations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(operation_of(&request));
        handle(upstream.clone(), refusals.clone(), request)
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// A connection to the emulator from the client's own loopback address, so
/// the emulator reports it as the source address (`requestContext.identity
/// .sourceIp`): a test client bound to 127.0.0.2 is another client.
async fn connect_as_client(
    client: &tokio::net::TcpStream,
    port: u16,
) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    if let Ok(std::net::SocketAddr::V4(peer)) = client.peer_addr() {
        socket.bind((*peer.ip(), 0).into())?;
    }
    socket.connect(([127, 0, 0, 1], port).into()).await
}

/// Peeks at the request head without consuming it.
async fn is_websocket_upgrade(stream: &tokio::net::TcpStream) -> bool {
    let mut buffer = vec![0u8; 8192];
    for _ in 0..2000 {
        let Ok(read) = stream.peek(&mut buffer).await else {
            return false;
        };
        let head = &buffer[..read];
        if read == 0 {
            return false;
        }
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
            return head.contains("\nupgrade: websocket");
        }
        if read == buffer.len() {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    false
}

#[derive(Debug)]
pub struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped")
    }
}

impl std::error::Error for Dropped {}

async fn handle(
    upstream: Upstream,
    refusals: Arc<Mutex<Refusals>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    let refused = {
        let count = |field: fn(&mut Refusals) -> &mut u64| {
            *field(&mut refusals.lock().unwrap_or_else(|e| e.into_inner())) += 1;
        };
        if let Some(answer) = websocket_payload_limit(&parts, &body) {
            count(|r| &mut r.payload_too_large);
            Some(answer)
        } else if let Some(answer) = super::post_budget::account_throttle(&upstream.posts, &parts) {
            count(|r| &mut r.throttled_posts);
            Some(answer)
        } else if let Some(answer) = invalidation_paths_encoded(&parts, &body) {
            count(|r| &mut r.invalid_invalidation_path);
            Some(answer)
        } else if let Some(answer) = buckets_must_be_empty(&upstream, &parts, &body).await {
            count(|r| &mut r.bucket_not_empty);
            Some(answer)
        } else if let Some(answer) = web_acl_rules(&upstream, &parts, &body).await {
            count(|r| &mut r.web_acl);
            Some(answer)
        } else if let Some(answer) =
            super::index_rules::one_index_change(&upstream, &parts, &body).await
        {
            count(|r| &mut r.index_changes);
            Some(answer)
        } else if let Some(answer) =
            super::log_rules::filter_patterns(&upstream, &parts, &body).await
        {
            Some(answer)
        } else if let Some(answer) = tables_take_time_to_delete(&upstream, &parts, &body) {
            Some(answer)
        } else if let Some(answer) = lazy_ttl(&upstream, &parts, &body) {
            Some(answer)
        } else if let Some(answer) = list_tables_in_pages(&upstream, &parts, &body).await {
            count(|r| &mut r.list_tables_pages);
            Some(answer)
        } else {
            None
        }
    };
    if let Some(answer) = refused {
        return Ok(answer);
    }
    let answer = forward(&upstream.client, upstream.port, &parts, body).await?;
    let (mut parts, body) = answer.into_parts();
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    parts.headers.remove(TRANSFER_ENCODING);
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// Sends a request on to the emulator as it came.
pub async fn forward(
    client: &HttpClient,
    upstream: u16,
    parts: &Parts,
    body: Bytes,
) -> Result<Response<Incoming>, Dropped> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = Request::builder()
        .method(parts.method.clone())
        .uri(format!("http://127.0.0.1:{upstream}{path}"));
    for (name, value) in &parts.headers {
        if name != TRANSFER_ENCODING && name != EXPECT {
            outgoing = outgoing.header(name, value);
        }
    }
    let outgoing = outgoing.body(Full::new(body)).map_err(|_| Dropped)?;
    client.request(outgoing).await.map_err(|_| Dropped)
}

/// The service named in the SigV4 credential scope
/// (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`).
pub fn signed_service(headers: &hyper::HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|scope| scope.split('/').nth(3))
        .unwrap_or("unsigned")
        .to_string()
}

/// A request's operation as `service:Operation`: the JSON protocols name it
/// in `X-Amz-Target` (DynamoDB, SQS, CloudWatch Logs), the management API's
/// by its path; S3 and the query protocols by the HTTP method
/// (`s3:PUT`), which is what their prices go by.
fn operation_of<B>(request: &Request<B>) -> String {
    let service = signed_service(request.headers());
    if let Some(target) = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        let operation = target.rsplit('.').next().unwrap_or(target);
        return format!("{service}:{operation}");
    }
    if service == "execute-api" && request.uri().path().contains("/@connections/") {
        let operation = match *request.method() {
            hyper::Method::POST => "PostToConnection",
            hyper::Method::DELETE => "DeleteConnection",
            _ => "GetConnection",
        };
        return format!("{service}:{operation}");
    }
    format!("{service}:{}", request.method())
}

/// The region named in the SigV4 credential scope.
fn signed_region(headers: &hyper::HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?;
    let region = scope.split('/').nth(2)?;
    (!region.is_empty()).then(|| region.to_string())
}

/// Rule 3: CloudFront names (origin access controls, cache, origin request
/// and response headers policies) are unique per account, in every region:
/// AWS refuses a second one (`...AlreadyExists`).
/// <https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateOriginAccessControl.html>
/// The emulator creates them inside CloudFormation, where the layer cannot
/// answer for it, and hands a second stack the first one's. So the check
/// runs when the emulator stops (`Emulator`'s drop), over every region a
/// request named: two stacks holding the same CloudFront resource, or two
/// resources with one name, are a clash AWS would have refused. Returns
/// what clashed.
pub async fn cloudfront_name_clashes(endpoint: &str, regions: &[String]) -> Vec<String> {
    use std::collections::BTreeMap;
    const NAMED: [&str; 4] = [
        "AWS::CloudFront::OriginAccessControl",
        "AWS::CloudFront::CachePolicy",
        "AWS::CloudFront::OriginRequestPolicy",
        "AWS::CloudFront::ResponseHeadersPolicy",
    ];
    let mut holders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for region in regions {
        let cfn = super::project::aws_at(endpoint, region)
            .await
            .cloudformation();
        let Ok(stacks) = cfn.describe_stacks().send().await else {
            continue;
        };
        for stack in stacks.stacks() {
            let name = stack.stack_name().unwrap_or_default();
            if stack.stack_status().map(|s| s.as_str()) == Some("DELETE_COMPLETE") {
                continue;
            }
            let Ok(resources) = cfn.describe_stack_resources().stack_name(name).send().await else {
                continue;
            };
            for resource in resources.stack_resources() {
                if NAMED.contains(&resource.resource_type().unwrap_or_default()) {
                    if let Some(id) = resource.physical_resource_id() {
                        holders
                            .entry(id.to_string())
                            .or_default()
                            .push(format!("{region}/{name}"));
                    }
                }
            }
        }
    }
    holders
        .into_iter()
        .filter(|(_, stacks)| stacks.len() > 1)
        .map(|(id, stacks)| {
            format!(
                "CloudFront resource {id} is held by {}: AWS refuses the second name (unique per account)",
                stacks.join(" and ")
            )
        })
        .collect()
}

/// The caller's Authorization header with another service in its scope, for
/// the layer's own reads on the caller's behalf (same account and region).
fn authorization_for(headers: &hyper::HeaderMap, service: &str) -> Option<HeaderValue> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let (head, scope) = auth.split_once("Credential=")?;
    let mut fields: Vec<&str> = scope.splitn(5, '/').collect();
    if fields.len() < 5 {
        return None;
    }
    fields[3] = service;
    HeaderValue::from_str(&format!("{head}Credential={}", fields.join("/"))).ok()
}

/// An error in the wire format of the service the request was signed for,
/// as AWS sends it, so the SDK reads the same error.
pub fn aws_error(service: &str, status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    let (content_type, body) = match service {
        "s3" => (
            "application/xml",
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>test</RequestId></Error>"),
        ),
        // restJson1 (the code is in a header too) and awsJson1_0.
        "lambda" | "dynamodb" | "execute-api" => (
            "application/json",
            format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}"),
        ),
        // awsQuery (CloudFormation, STS) and restXml (CloudFront).
        _ => (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>{}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>test</RequestId></ErrorResponse>",
                if status < 500 { "Sender" } else { "Receiver" }
            ),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(code) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

/// The largest message API Gateway delivers to a WebSocket client.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>
/// ("Message payload size: 128 KB"); a larger PostToConnection answers 413.
pub const WEBSOCKET_MESSAGE_BYTES: usize = 128 * 1024;

/// Rule 1: PostToConnection with a body over 128 KB answers 413
/// `PayloadTooLargeException`.
fn websocket_payload_limit(parts: &Parts, body: &Bytes) -> Option<Response<Full<Bytes>>> {
    let posting = parts.method == Method::POST && parts.uri.path().contains("/@connections/");
    (posting && body.len() > WEBSOCKET_MESSAGE_BYTES).then(|| {
        aws_error(
            "execute-api",
            413,
            "PayloadTooLargeException",
            "Message too long",
        )
    })
}

/// Rule 6: invalidation paths must be URL-encoded where RFC 1738 calls a
/// character unsafe, and non-ASCII ones.
/// <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Invalidation_Requirements.html>
/// ("If the path includes non-ASCII characters or unsafe characters as
/// defined in RFC 1738, URL-encode those characters.")
fn invalidation_paths_encoded(parts: &Parts, body: &Bytes) -> Option<Response<Full<Bytes>>> {
    if parts.method != Method::POST || !parts.uri.path().ends_with("/invalidation") {
        return None;
    }
    let text = String::from_utf8_lossy(body);
    let bad = text
        .split("<Path>")
        .skip(1)
        .filter_map(|rest| rest.split("</Path>").next())
        .map(xml_unescape)
        .find(|path| !is_encoded_path(path))?;
    Some(aws_error(
        "cloudfront",
        400,
        "InvalidArgument",
        &format!("Your request contains one or more invalid invalidation paths: {bad:?}"),
    ))
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// ASCII without RFC 1738's unsafe characters, `%` only before two hex digits.
pub fn is_encoded_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b'%' => {
            bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
        }
        b' ' | b'<' | b'>' | b'"' | b'#' | b'{' | b'}' | b'|' | b'\\' | b'^' | b'~' | b'['
        | b']' | b'`' => false,
        _ => b.is_ascii_graphic(),
    })
}

/// Rule 2: a bucket that holds objects or versions cannot be deleted
/// (409 `BucketNotEmpty`), and neither can a stack whose buckets do: on AWS
/// the stack would end `DELETE_FAILED`; the layer refuses the DeleteStack.
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html>
/// ("All objects (including all object versions and delete markers) in the
/// bucket must be deleted before the bucket itself can be deleted.")
async fn buckets_must_be_empty(
    upstream: &Upstream,
    parts: &Parts,
    body: &Bytes,
) -> Option<Response<Full<Bytes>>> {
    let service = signed_service(&parts.headers);
    if service == "s3" && parts.method == Method::DELETE {
        let path = parts.uri.path().trim_matches('/');
        let is_bucket = !path.is_empty() && !path.contains('/') && parts.uri.query().is_none();
        if is_bucket && holds_objects(upstream, parts, path).await {
            return Some(aws_error(
                "s3",
                409,
                "BucketNotEmpty",
                "The bucket you tried to delete is not empty",
            ));
        }
        return None;
    }
    if service != "cloudformation" || parts.method != Method::POST {
        return None;
    }
    let form: std::collections::HashMap<String, String> =
        form_urlencoded::parse(body).into_owned().collect();
    if form.get("Action").map(String::as_str) != Some("DeleteStack") {
        return None;
    }
    let stack = form.get("StackName")?;
    for bucket in stack_buckets(upstream, parts, stack).await {
        if holds_objects(upstream, parts, &bucket).await {
            return Some(aws_error(
                "cloudformation",
                400,
                "ValidationError",
                &format!("bucket {bucket} of stack {stack} is not empty: on AWS its deletion fails and the stack ends DELETE_FAILED"),
            ));
        }
    }
    None
}

/// A read the layer makes of the emulator on the caller's behalf.
pub async fn read_upstream(
    upstream: &Upstream,
    caller: &Parts,
    service: &str,
    method: Method,
    path_and_query: &str,
    body: &str,
    extra: &[(&str, &str)],
) -> Option<String> {
    let mut request = Request::builder().method(method).uri(format!(
        "http://127.0.0.1:{}{path_and_query}",
        upstream.port
    ));
    if let Some(auth) = authorization_for(&caller.headers, service) {
        request = request.header("authorization", auth);
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_string())))
        .ok()?;
    let answer = upstream.client.request(request).await.ok()?;
    let ok = answer.status().is_success();
    let body = answer.into_body().collect().await.ok()?.to_bytes();
    ok.then(|| String::from_utf8_lossy(&body).into_owned())
}

async fn holds_objects(upstream: &Upstream, caller: &Parts, bucket: &str) -> bool {
    let listing = read_upstream(
        upstream,
        caller,
        "s3",
        Method::GET,
        &format!("/{bucket}?versions&max-keys=1"),
        "",
        &[],
    )
    .await
    .unwrap_or_default();
    listing.contains("<Version>") || listing.contains("<DeleteMarker>")
}

/// A stack's DescribeStackResources answer (XML), empty when unreadable.
async fn stack_resources(upstream: &Upstream, caller: &Parts, stack: &str) -> String {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "DescribeStackResources")
        .append_pair("Version", "2010-05-15")
        .append_pair("StackName", stack)
        .finish();
    read_upstream(
        upstream,
        caller,
        "cloudformation",
        Method::POST,
        "/",
        &body,
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await
    .unwrap_or_default()
}

/// The template a CreateChangeSet, CreateStack or UpdateStack carries,
/// inline or (path-style on the emulator) in S3.
pub async fn template_of(
    upstream: &Upstream,
    parts: &Parts,
    form: &std::collections::HashMap<String, String>,
) -> Option<serde_json::Value> {
    let text = match (form.get("TemplateBody"), form.get("TemplateURL")) {
        (Some(text), _) => text.clone(),
        (None, Some(url)) => {
            let rest = url.split_once("://")?.1;
            let path = &rest[rest.find('/')?..];
            read_upstream(upstream, parts, "s3", Method::GET, path, "", &[]).await?
        }
        (None, None) => return None,
    };
    serde_json::from_str(&text).ok()
}

/// A CloudFormation request's form (awsQuery), or None for other requests.
pub fn cloudformation_form(
    parts: &Parts,
    body: &Bytes,
) -> Option<std::collections::HashMap<String, String>> {
    if signed_service(&parts.headers) != "cloudformation" || parts.method != Method::POST {
        return None;
    }
    Some(form_urlencoded::parse(body).into_owned().collect())
}

/// Rules 9 and 10 (`waf_rules.rs`): web ACLs for CloudFront only in
/// us-east-1 and only by ARN; none deleted while a distribution uses it.
async fn web_acl_rules(
    upstream: &Upstream,
    parts: &Parts,
    body: &Bytes,
) -> Option<Response<Full<Bytes>>> {
    use super::waf_rules::{acl_in_use, parameters_of, scope_refusal};
    let form = cloudformation_form(parts, body)?;
    let refuse = |reason: String| aws_error("cloudformation", 400, "ValidationError", &reason);
    match form.get("Action").map(String::as_str)? {
        "CreateChangeSet" | "CreateStack" | "UpdateStack" => {
            let template = template_of(upstream, parts, &form).await?;
            let region = signed_region(&parts.headers).unwrap_or_default();
            scope_refusal(&region, &template, &parameters_of(&form)).map(refuse)
        }
        "DeleteStack" => {
            let stack = form.get("StackName")?;
            let resources = stack_resources(upstream, parts, stack).await;
            if !resources.contains("AWS::WAFv2::WebACL") {
                return None;
            }
            let distributions = read_upstream(
                upstream,
                parts,
                "cloudfront",
                Method::GET,
                "/2020-05-31/distribution",
                "",
                &[],
            )
            .await?;
            acl_in_use(&resources, &distributions).map(|arn| {
                refuse(format!(
                    "the web ACL {arn} of stack {stack} is used by a CloudFront distribution: AWS WAF refuses to delete it (WAFAssociatedItemException) and the stack ends DELETE_FAILED"
                ))
            })
        }
        _ => None,
    }
}

/// The physical names of a stack's buckets that still exist.
async fn stack_buckets(upstream: &Upstream, caller: &Parts, stack: &str) -> Vec<String> {
    let listing = stack_resources(upstream, caller, stack).await;
    listing
        .split("<member>")
        .filter(|member| member.contains("<ResourceType>AWS::S3::Bucket</ResourceType>"))
        .filter(|member| !member.contains("DELETE_COMPLETE"))
        .filter_map(|member| {
            let id = member.split("<PhysicalResourceId>").nth(1)?;
            Some(id.split('<').next()?.to_string())
        })
        .collect()
}

/// Rule 4: DynamoDB's TTL deletes expired items lazily, typically within a
/// few days, and Query returns them until then.
/// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html>
/// The emulator ignores the template's TTL (so keeps expired items, as AWS
/// would during a test), but its TTL API starts a reaper that deletes within
/// seconds. The layer keeps UpdateTimeToLive and DescribeTimeToLive to
/// itself, so nothing is ever reaped while a test runs.
fn lazy_ttl(upstream: &Upstream, parts: &Parts, body: &Bytes) -> Option<Response<Full<Bytes>>> {
    let target = parts.headers.get("x-amz-target")?.to_str().ok()?;
    let asked: serde_json::Value = serde_json::from_slice(body).ok()?;
    let table = asked["TableName"].as_str()?.to_string();
    let mut settings = upstream.ttl.lock().unwrap_or_else(|e| e.into_inner());
    let answer = if target.ends_with(".UpdateTimeToLive") {
        let spec = asked["TimeToLiveSpecification"].clone();
        settings.insert(table, spec.clone());
        serde_json::json!({ "TimeToLiveSpecification": spec })
    } else if target.ends_with(".DescribeTimeToLive") {
        let spec = settings.get(&table).cloned().unwrap_or_default();
        let status = if spec["Enabled"] == true {
            "ENABLED"
        } else {
            "DISABLED"
        };
        let mut description = serde_json::json!({ "TimeToLiveStatus": status });
        if let Some(attribute) = spec["AttributeName"].as_str() {
            description["AttributeName"] = serde_json::json!(attribute);
        }
        serde_json::json!({ "TimeToLiveDescription": description })
    } else {
        return None;
    };
    let mut response = Response::new(Full::new(Bytes::from(answer.to_string())));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    Some(response)
}

/// How long a deleted table stays `DELETING` (on AWS: seconds to minutes).
const DELETING_FOR: Duration = Duration::from_secs(3);

/// The tables deleted less than `DELETING_FOR` ago.
fn still_deleting(upstream: &Upstream) -> Vec<String> {
    let mut deleting = upstream.deleting.lock().unwrap_or_else(|e| e.into_inner());
    deleting.retain(|_, since| since.elapsed() < DELETING_FOR);
    deleting.keys().cloned().collect()
}

/// Rule 7: DeleteTable is not instant: the table is `DELETING` for a while,
/// DescribeTable still finds it, ListTables still lists it, and CreateTable
/// of its name is refused (`ResourceInUseException`).
/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DeleteTable.html>
/// ("the table is in the DELETING state until DynamoDB completes the
/// deletion"). The emulator deletes at once; the layer shows the table as
/// `DELETING` for `DELETING_FOR`.
fn tables_take_time_to_delete(
    upstream: &Upstream,
    parts: &Parts,
    body: &Bytes,
) -> Option<Response<Full<Bytes>>> {
    let target = parts.headers.get("x-amz-target")?.to_str().ok()?;
    let asked: serde_json::Value = serde_json::from_slice(body).ok()?;
    let table = asked["TableName"].as_str()?.to_string();
    if target.ends_with(".DeleteTable") {
        upstream
            .deleting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(table, std::time::Instant::now());
        return None; // the emulator deletes it
    }
    if !still_deleting(upstream).contains(&table) {
        return None;
    }
    if target.ends_with(".CreateTable") {
        return Some(aws_error(
            "dynamodb",
            400,
            "ResourceInUseException",
            &format!("Table is being deleted: {table}"),
        ));
    }
    if !target.ends_with(".DescribeTable") {
        return None;
    }
    let answer = serde_json::json!({ "Table": { "TableName": table, "TableStatus": "DELETING" } });
    let mut response = Response::new(Full::new(Bytes::from(answer.to_string())));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    Some(response)
}

/// Rule 5: ListTables gives no order and pages at its own pace. The layer
/// reads every table from the emulator and answers in a scrambled (but
/// stable) order, two names a page, so callers must follow
/// `LastEvaluatedTableName` and must not rely on any order.
/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ListTables.html>
async fn list_tables_in_pages(
    upstream: &Upstream,
    parts: &Parts,
    body: &Bytes,
) -> Option<Response<Full<Bytes>>> {
    let target = parts.headers.get("x-amz-target")?.to_str().ok()?;
    if !target.ends_with(".ListTables") {
        return None;
    }
    let asked: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let request = match &start {
            Some(name) => serde_json::json!({ "ExclusiveStartTableName": name }),
            None => serde_json::json!({}),
        };
        let page = read_upstream(
            upstream,
            parts,
            "dynamodb",
            Method::POST,
            "/",
            &request.to_string(),
            &[
                ("x-amz-target", target),
                ("content-type", "application/x-amz-json-1.0"),
            ],
        )
        .await?;
        let page: serde_json::Value = serde_json::from_str(&page).ok()?;
        names.extend(
            page["TableNames"]
                .as_array()?
                .iter()
                .filter_map(|n| n.as_str().map(str::to_string)),
        );
        match page["LastEvaluatedTableName"].as_str() {
            Some(last) => start = Some(last.to_string()),
            None => break,
        }
    }
    for table in still_deleting(upstream) {
        if !names.contains(&table) {
            names.push(table);
        }
    }
    names.sort_by_key(|name| scramble(name));
    let after = asked["ExclusiveStartTableName"].as_str();
    let from = after
        .and_then(|after| names.iter().position(|n| n == after).map(|i| i + 1))
        .unwrap_or(0);
    let size = asked["Limit"].as_u64().unwrap_or(100).min(2) as usize;
    let page: Vec<&String> = names.iter().skip(from).take(size).collect();
    let mut answer = serde_json::json!({ "TableNames": page });
    if from + size < names.len() {
        answer["LastEvaluatedTableName"] = serde_json::json!(page.last());
    }
    let mut response = Response::new(Full::new(Bytes::from(answer.to_string())));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    Some(response)
}

/// A stable order unrelated to the names' (FNV-1a of the reversed name).
fn scramble(name: &str) -> u64 {
    name.bytes().rev().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}
