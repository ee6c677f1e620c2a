//! The protocol's frames: parsing hostile requests, and every frame within API Gateway's limits.

use super::*;

#[test]
fn requests_parse() {
    assert_eq!(
        parse_request(Some(r#"{"action":"send","text":"hi"}"#)),
        Ok(Request::Send { text: "hi".into() })
    );
    assert_eq!(
        parse_request(Some(r#"{"action":"history"}"#)),
        Ok(Request::History {
            cursor: None,
            limit: None
        })
    );
}

#[test]
fn bad_frames_are_error_frames() {
    let code = |body: &str| match parse_request(Some(body)) {
        Err(Frame::Error { code, .. }) => code,
        other => panic!("expected an error frame, got {other:?}"),
    };
    assert_eq!(code("not json"), "bad_request");
    assert_eq!(code(r#"{"action":"dance"}"#), "unknown_action");
    assert_eq!(code(r#"{"text":"no action"}"#), "unknown_action");
    assert_eq!(code(r#"{"action":"edit","text":"no id"}"#), "bad_request");
    assert_eq!(code(r#"{"action":"send","text":5}"#), "bad_request");
    assert_eq!(
        code(&format!(
            r#"{{"action":"send","text":"{}"}}"#,
            "a".repeat(MAX_FRAME_BYTES)
        )),
        "too_large"
    );
    assert_eq!(
        code(&format!("{}1{}", "[".repeat(200), "]".repeat(200))),
        "bad_request"
    );
    assert!(parse_request(None).is_err());
    assert_eq!(
        parse_request(Some(r#"{"action":"ping"}"#)),
        Ok(Request::Ping)
    );
    assert_eq!(Frame::Pong.to_json(), r#"{"type":"pong"}"#);
    let Err(Frame::Error { message, .. }) =
        parse_request(Some(&format!(r#"{{"action":"{}"}}"#, "x".repeat(20_000))))
    else {
        panic!("a long unknown action is refused");
    };
    assert!(message.len() < 200, "{message}");
    assert_eq!(code(r#"{"action":"delete","id":"nope"}"#), "invalid");
    assert_eq!(
        code(&format!(
            r#"{{"action":"history","cursor":"{}"}}"#,
            "0".repeat(2000)
        )),
        "invalid"
    );
    assert!(parse_request(Some(
        r#"{"action":"edit","id":"01J00000000000000000000000","text":"x"}"#
    ))
    .is_ok());
    let Err(Frame::Error { message, .. }) = parse_request(Some(&format!(
        r#"{{"action":"send","text":"hi","{}":1}}"#,
        "k".repeat(20_000)
    ))) else {
        panic!("an unknown field is refused");
    };
    assert!(message.chars().count() <= 201, "{message}");
}

fn maximal_message(id: usize) -> PublicMessage {
    PublicMessage {
        id: format!("{id:026}"),
        room: "r".repeat(32),
        // Four bytes each, and quotes that JSON doubles.
        name: "🚀".repeat(32),
        text: "\"".repeat(MAX_MESSAGE_BYTES_LIMIT),
        created_at: 1_800_000_000,
        edited_at: Some(1_800_000_001),
        source: Some(crate::model::Source::Form),
        verified: false,
    }
}

#[test]
fn a_maximal_message_fits_every_frame_it_travels_in() {
    let message = maximal_message(1);
    let edited = Frame::Edited {
        message: Box::new(message),
    }
    .to_json();
    assert!(edited.len() < MAX_OUTBOUND_FRAME_BYTES, "{}", edited.len());
    assert!(edited.len() < HISTORY_FRAME_BUDGET_BYTES - 1_000);
}

#[test]
fn history_frames_stay_under_the_budget_and_page_on_from_where_they_stopped() {
    let newest_first: Vec<PublicMessage> = (0..100).rev().map(maximal_message).collect();
    let you = Me {
        name: "🚀".repeat(32),
        token: "t".repeat(64),
        verified: false,
        moderator: false,
    };
    // The most people a first page lists, with the longest names.
    let everyone = crate::presence::Presence {
        count: crate::presence::PRESENCE_LIST_MAX,
        people: vec!["🚀".repeat(32); crate::presence::PRESENCE_LIST_MAX],
        complete: true,
    };
    let frame = history_frame(
        "r",
        &newest_first,
        false,
        you.clone(),
        i64::from(u32::MAX),
        Some(everyone),
    );
    let json = frame.to_json();
    assert!(json.len() <= HISTORY_FRAME_BUDGET_BYTES, "{}", json.len());
    let Frame::History {
        messages,
        next_cursor,
        you: Some(me),
        ..
    } = frame
    else {
        panic!("not a history frame");
    };
    assert_eq!(*me, you);
    assert_eq!(messages.len(), 1, "one maximal message fits, not two");
    assert_eq!(next_cursor.as_deref(), Some(messages[0].id.as_str()));
    assert_eq!(messages[0].id, format!("{:026}", 99));

    let small: Vec<PublicMessage> = newest_first
        .iter()
        .map(|m| PublicMessage {
            text: "hi".into(),
            ..m.clone()
        })
        .collect();
    let (all, cursor) = fit_history(&small, false, HISTORY_FRAME_BUDGET_BYTES);
    assert_eq!((all.len(), cursor), (100, None));
    assert_eq!(all[0].id, format!("{:026}", 0), "oldest first");
    let (_, cursor) = fit_history(&small, true, HISTORY_FRAME_BUDGET_BYTES);
    assert_eq!(cursor, Some(format!("{:026}", 0)));
    assert_eq!(fit_history(&[], false, 10), (Vec::new(), None));
}

#[test]
fn frames_serialize_with_their_type() {
    let json = Frame::Deleted {
        room: "r".into(),
        id: "1".into(),
    }
    .to_json();
    assert_eq!(json, r#"{"type":"deleted","room":"r","id":"1"}"#);
}
