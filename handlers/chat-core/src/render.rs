//! The room snapshot: `rooms/ROOM.json` for polling clients and
//! `rooms/ROOM.html`, the page a browser without JavaScript reads and posts from.

use html_escape::{encode_double_quoted_attribute, encode_text};
use serde_json::json;

use crate::model::{Message, PublicMessage};
use crate::presence::Presence;

/// JSON snapshot: the newest messages, oldest first, and who was in the
/// room when it was written.
pub fn snapshot_json(room: &str, messages: &[Message], presence: Option<&Presence>) -> String {
    let public: Vec<PublicMessage> = messages.iter().map(PublicMessage::from).collect();
    json!({ "room": room, "messages": public, "presence": presence }).to_string()
}

/// "3 people here: Ada, Bob, Cy", names escaped; a room too big to list
/// says how many at least.
pub fn presence_line(presence: &Presence) -> String {
    let count = presence.count;
    let people = if count == 1 { "person" } else { "people" };
    if !presence.complete {
        return format!("{count}+ people here");
    }
    if count == 0 {
        return "Nobody here".to_string();
    }
    let names: Vec<String> = presence
        .people
        .iter()
        .map(|name| format!("<bdi>{}</bdi>", encode_text(name)))
        .collect();
    format!("{count} {people} here: {}", names.join(", "))
}

/// `YYYY-MM-DD HH:MM` in UTC.
pub fn format_time(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// The room page. Everything that came from a user is escaped. With
/// `sign_in` (sign-in on), the form has no name (the session gives it) and
/// the page links to sign in and offers to sign out: the page is the same
/// for everyone, so it cannot know who reads it.
pub fn snapshot_html(
    room: &str,
    messages: &[Message],
    max_message_bytes: usize,
    presence: Option<&Presence>,
    sign_in: bool,
) -> String {
    let here = presence
        .map(|p| format!("\n    <p class=\"presence\">{}</p>", presence_line(p)))
        .unwrap_or_default();
    let room_text = encode_text(room);
    let room_attr = encode_double_quoted_attribute(room);
    let mut items = String::new();
    for message in messages {
        let edited = if message.edited_at.is_some() {
            " <span class=\"edited\">(edited)</span>"
        } else {
            ""
        };
        items.push_str(&format!(
            "      <li id=\"m-{id}\"><bdi class=\"name\">{name}</bdi>{verified}{source} <time>{time}</time>{edited}\n        <p class=\"text\">{text}</p></li>\n",
            id = encode_double_quoted_attribute(&message.id),
            name = encode_text(&message.name),
            verified = if message.verified {
                " <span class=\"verified\" title=\"signed in\">\u{2713}</span>"
            } else {
                ""
            },
            source = message
                .source
                .map(|s| format!(" <span class=\"source\">{}</span>", s.as_str()))
                .unwrap_or_default(),
            time = format_time(message.created_at),
            text = encode_text(&message.text),
        ));
    }
    if items.is_empty() {
        items.push_str("      <li class=\"empty\">No messages yet.</li>\n");
    }
    let head = page_head(&format!("#{room_text} · Chat"));
    let (account, name_field) = if sign_in {
        (
            format!(
                "    <p class=\"account\"><a href=\"/api/auth/signin?return=/rooms/{room_attr}.html\">Sign in</a> to post.</p>\n    <form method=\"post\" action=\"/api/auth/signout\"><button type=\"submit\" class=\"secondary\">Sign out</button></form>\n"
            ),
            String::new(),
        )
    } else {
        (
            String::new(),
            "      <label>Name <input name=\"name\" required maxlength=\"32\" autocomplete=\"nickname\"></label>\n".to_string(),
        )
    };
    format!(
        r#"{head}
<body>
  <main>
    <h1>#{room_text}</h1>{here}
    <ol class="messages" aria-live="polite">
{items}    </ol>
{account}    <form class="post" method="post" action="/api/rooms/{room_attr}/messages">
{name_field}      <label>Message <textarea name="text" required maxlength="{max_message_bytes}" rows="3"></textarea></label>
      <button type="submit">Send</button>
    </form>
  </main>
</body>
</html>
"#
    )
}

/// The start of every page up to `<body>`; `title` is HTML already.
fn page_head(title: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="stylesheet" href="/style.css">
</head>"#
    )
}

/// A sign-in that did not complete (sign-in on): why, and a way to try again.
pub fn sign_in_failed_page(why: &str) -> String {
    let head = page_head("Sign-in failed · Chat");
    format!(
        "{head}<body>\n  <main>\n    <h1>Sign-in did not complete</h1>\n    <p>{}.</p>\n    <p><a href=\"/api/auth/signin\">Sign in again</a> or <a href=\"/\">go back to the chat</a>.</p>\n  </main>\n</body>\n</html>\n",
        encode_text(why)
    )
}

/// A form post without a sign-in (sign-in on): sign in, then post again.
pub fn sign_in_required_page(room: &str, why: &str) -> String {
    let head = page_head("Sign in · Chat");
    let room_attr = encode_double_quoted_attribute(room);
    format!(
        "{head}<body>\n  <main>\n    <h1>Sign in to post</h1>\n    <p>{}.</p>\n    <p><a href=\"/api/auth/signin?return=/rooms/{room_attr}.html\">Sign in</a>, then post again.</p>\n  </main>\n</body>\n</html>\n",
        encode_text(why)
    )
}

/// What a person posting the room page's form (no JavaScript) reads when
/// over the limit: what happened, when to try again, the way back. Their
/// text is not kept; the browser's Back button still holds it.
pub fn rate_limited_page(room: &str, message: &str) -> String {
    let head = page_head("Too many messages · Chat");
    format!(
        r#"{head}
<body>
  <main>
    <h1>Too many messages</h1>
    <p>Your message was not sent: {message}.</p>
    <p>Go back to keep your text, or return to <a href="/rooms/{room_attr}.html">#{room_text}</a>.</p>
  </main>
</body>
</html>
"#,
        message = encode_text(message),
        room_attr = encode_double_quoted_attribute(room),
        room_text = encode_text(room),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nobody() -> Presence {
        Presence::of(&[], true)
    }

    /// The page without JavaScript says who was there when it was written,
    /// every name escaped; a room too big to list says how many at least.
    #[test]
    fn the_room_page_shows_who_is_here() {
        let person = |id: &str, name: &str| crate::presence::Present {
            connection_id: id.into(),
            room: "general".into(),
            name: name.into(),
            author: format!("author-of-{name}"),
        };
        let here = Presence::of(&[person("c1", "<i>eve</i>"), person("c2", "Ada")], true);
        let html = snapshot_html("general", &[], 2000, Some(&here), false);
        assert!(
            html.contains(
                r#"<p class="presence">2 people here: <bdi>&lt;i&gt;eve&lt;/i&gt;</bdi>, <bdi>Ada</bdi></p>"#
            ),
            "{html}"
        );
        let one = Presence::of(&[person("c1", "Ada")], true);
        assert_eq!(presence_line(&one), "1 person here: <bdi>Ada</bdi>");
        assert_eq!(presence_line(&nobody()), "Nobody here");
        let crowd = Presence::of(&[person("c1", "Ada"), person("c2", "Bob")], false);
        assert_eq!(presence_line(&crowd), "2+ people here");
    }

    fn message(name: &str, text: &str) -> Message {
        Message {
            room: "general".into(),
            id: "01J0000000000000000000000".into(),
            name: name.into(),
            text: text.into(),
            created_at: 1_764_000_000,
            edited_at: None,
            author: Some("secret-author-key".into()),
            expires_at: 0,
            source: Some(crate::model::Source::Form),
            verified: false,
        }
    }

    /// The site ships the empty page of the default room (static/rooms/),
    /// so a browser without JavaScript has a page before the first message;
    /// it must be what the fan-out would write.
    #[test]
    fn the_sites_seed_page_is_the_empty_room_as_rendered() {
        let seed = include_str!("../../../static/rooms/general.html");
        assert_eq!(
            seed,
            snapshot_html(
                "general",
                &[],
                crate::validate::DEFAULT_MAX_MESSAGE_BYTES,
                Some(&nobody()),
                false
            )
        );
    }

    #[test]
    fn with_sign_in_the_room_page_links_to_it_and_asks_no_name() {
        let signed = snapshot_html("general", &[message("ada", "hi")], 2000, None, true);
        assert!(
            signed.contains(r#"<a href="/api/auth/signin?return=/rooms/general.html">Sign in</a>"#)
        );
        assert!(signed.contains(r#"action="/api/auth/signout""#));
        assert!(!signed.contains(r#"name="name""#), "{signed}");
        let mut verified = message("ada", "hi");
        verified.verified = true;
        let page = snapshot_html("general", &[verified], 2000, None, true);
        assert!(
            page.contains(r#"<span class="verified" title="signed in">"#),
            "{page}"
        );
        let anonymous = snapshot_html("general", &[message("ada", "hi")], 2000, None, false);
        assert!(anonymous.contains(r#"name="name""#) && !anonymous.contains("/api/auth/"));
    }

    #[test]
    fn script_shows_as_text() {
        let html = snapshot_html(
            "general",
            &[message("<b>eve</b>", "<script>alert(1)</script>")],
            2000,
            None,
            false,
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(
            html.contains(
                r#"<bdi class="name">&lt;b&gt;eve&lt;/b&gt;</bdi> <span class="source">form</span>"#
            ),
            "{html}"
        );
        assert!(html.contains(r#"action="/api/rooms/general/messages""#));
    }

    #[test]
    fn snapshots_never_leak_the_author_key() {
        let m = message("ada", "hi");
        let here = Presence::of(
            &[crate::presence::Present {
                connection_id: "c1".into(),
                room: "general".into(),
                name: "ada".into(),
                author: "secret-author-key".into(),
            }],
            true,
        );
        assert!(
            !snapshot_json("general", std::slice::from_ref(&m), Some(&here))
                .contains("secret-author-key")
        );
        assert!(
            !snapshot_html("general", &[m], 2000, Some(&here), false).contains("secret-author-key")
        );
    }

    #[test]
    fn the_rate_limited_page_says_when_and_links_back() {
        let page = rate_limited_page("general", "try again in 3 s <b>");
        assert!(page.contains("try again in 3 s &lt;b&gt;"), "{page}");
        assert!(page.contains(r#"<a href="/rooms/general.html">#general</a>"#));
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00");
        assert_eq!(format_time(1_764_000_000), "2025-11-24 16:00");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00");
    }
}
