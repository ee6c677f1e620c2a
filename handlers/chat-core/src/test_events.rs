//! Events as API Gateway, SNS and DynamoDB Streams deliver them, built
//! from their JSON (the form the functions decode) for the handlers' unit
//! tests.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayWebsocketProxyRequest};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

fn event<T: serde::de::DeserializeOwned>(value: Value) -> LambdaEvent<T> {
    LambdaEvent::new(
        serde_json::from_value(value).expect("the event decodes"),
        Context::default(),
    )
}

/// A WebSocket event on `route` from `connection`, with `extra` fields
/// (the query, the body) beside the request context.
fn websocket(
    route: &str,
    event_type: &str,
    connection: &str,
    source_ip: &str,
    mut extra: Value,
) -> LambdaEvent<ApiGatewayWebsocketProxyRequest> {
    extra["isBase64Encoded"] = json!(false);
    extra["requestContext"] = json!({
        "routeKey": route, "eventType": event_type, "connectionId": connection,
        "identity": { "sourceIp": source_ip }, "stage": "dev", "apiId": "abc",
        "connectedAt": 1764000000000_i64, "requestTimeEpoch": 1764000000000_i64
    });
    event(extra)
}

/// A WebSocket `$connect` with these query parameters.
pub fn connect(
    connection: &str,
    source_ip: &str,
    query: &[(&str, &str)],
) -> LambdaEvent<ApiGatewayWebsocketProxyRequest> {
    let query: serde_json::Map<String, Value> = query
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let extra = json!({ "queryStringParameters": query });
    websocket("$connect", "CONNECT", connection, source_ip, extra)
}

/// A WebSocket message (any route but `$connect`) with this body.
pub fn frame(
    connection: &str,
    source_ip: &str,
    body: &str,
) -> LambdaEvent<ApiGatewayWebsocketProxyRequest> {
    let extra = json!({ "body": body });
    websocket("$default", "MESSAGE", connection, source_ip, extra)
}

/// A WebSocket `$disconnect`.
pub fn disconnect(connection: &str) -> LambdaEvent<ApiGatewayWebsocketProxyRequest> {
    websocket("$disconnect", "DISCONNECT", connection, "", json!({}))
}

/// An HTTP API request to `path` from `source_ip`.
pub fn http(
    method: &str,
    path: &str,
    source_ip: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> LambdaEvent<ApiGatewayV2httpRequest> {
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    event(json!({
        "version": "2.0", "routeKey": "$default", "rawPath": raw_path, "rawQueryString": query,
        "queryStringParameters": serde_urlencoded::from_str::<std::collections::HashMap<String, String>>(query).unwrap_or_default(),
        "headers": headers, "body": body, "isBase64Encoded": false,
        "requestContext": {
            "http": { "method": method, "path": raw_path, "protocol": "HTTP/1.1",
                      "sourceIp": source_ip, "userAgent": "test" },
            "stage": "$default", "timeEpoch": 0
        }
    }))
}

/// An SNS delivery of one message with these message attributes.
pub fn sns(
    message: &str,
    subject: Option<&str>,
    attributes: &[(&str, &str)],
) -> LambdaEvent<aws_lambda_events::sns::SnsEvent> {
    let attributes: serde_json::Map<String, Value> = attributes
        .iter()
        .map(|(k, v)| (k.to_string(), json!({ "Type": "String", "Value": v })))
        .collect();
    event(json!({ "Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:000000000000:chat:s",
        "Sns": {
            "Type": "Notification", "MessageId": "m1",
            "TopicArn": "arn:aws:sns:us-east-1:000000000000:chat", "Subject": subject,
            "Message": message, "Timestamp": "2026-01-01T00:00:00.000Z",
            "SignatureVersion": "1", "Signature": "x", "SigningCertUrl": "https://example.com",
            "UnsubscribeUrl": "https://example.com", "MessageAttributes": attributes
        }
    }]}))
}

/// A batch of a table's stream (messages or connections): each record's
/// event name (`INSERT`, `MODIFY`, `REMOVE`) and the item's image,
/// sequence numbers counting from 1.
pub fn stream<T: serde::Serialize>(
    records: &[(&str, &T)],
) -> LambdaEvent<aws_lambda_events::dynamodb::Event> {
    let mut event = aws_lambda_events::dynamodb::Event::default();
    for (sequence, (name, message)) in records.iter().enumerate() {
        let mut record = aws_lambda_events::dynamodb::EventRecord::default();
        record.event_name = name.to_string();
        let image: serde_dynamo::Item = serde_dynamo::to_item(message).expect("an image");
        if *name == "REMOVE" {
            record.change.old_image = image;
        } else {
            record.change.new_image = image;
        }
        record.change.sequence_number = Some((sequence + 1).to_string());
        event.records.push(record);
    }
    LambdaEvent::new(event, Context::default())
}

/// A batch from the delivery queue, as the fan-out receives it (JSON).
pub fn queue(bodies: &[(&str, String)]) -> LambdaEvent<Value> {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, (group, body))| {
            json!({
                "messageId": format!("m{i}"), "receiptHandle": "r", "body": body,
                "attributes": { "MessageGroupId": group }, "messageAttributes": {},
                "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:deliveries.fifo",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    LambdaEvent::new(json!({ "Records": records }), Context::default())
}

/// A batch from the notify queue, as the notify function receives it.
pub fn sqs(bodies: &[&str]) -> LambdaEvent<aws_lambda_events::sqs::SqsEvent> {
    let records: Vec<(&str, String)> = bodies.iter().map(|b| ("", b.to_string())).collect();
    let event = queue(&records).payload;
    LambdaEvent::new(
        serde_json::from_value(event).expect("an SQS event"),
        Context::default(),
    )
}

/// The texts of a page of messages (a history frame's or the HTTP API's).
pub fn texts(messages: &Value) -> Vec<String> {
    messages
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|m| m["text"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
