//! The input rules every entry point enforces; a rejection names the field.

/// Default upper bound of a message's text, in bytes of UTF-8.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = chat_limits::MAX_MESSAGE_BYTES.default as usize;

/// A rejected input, naming the field that was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("room: must be 1 to 32 characters of a-z, 0-9 and '-'")]
    Room,
    #[error("name: must be 1 to 32 printable characters, without control, format or bidirectional characters")]
    Name,
    #[error("text: must be 1 to {max} bytes of text, without control characters other than tab and line breaks")]
    Text { max: usize },
}

impl ValidationError {
    /// The name of the offending field, for structured error frames.
    pub fn field(&self) -> &'static str {
        match self {
            ValidationError::Room => "room",
            ValidationError::Name => "name",
            ValidationError::Text { .. } => "text",
        }
    }
}

/// Room names are `[a-z0-9-]{1,32}`: they become S3 keys and URL path segments.
pub fn validate_room(room: &str) -> Result<&str, ValidationError> {
    let valid_chars = room
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if (1..=32).contains(&room.len()) && valid_chars {
        Ok(room)
    } else {
        Err(ValidationError::Room)
    }
}

/// Unicode format characters (category Cf: bidi overrides and isolates such
/// as U+202E and U+2066, zero-width spaces and joiners, ...) and the line and
/// paragraph separators (Zl, Zp): invisible, and a name holding one can
/// reorder or hide what is shown after it.
pub fn is_invisible_format(c: char) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory};
    matches!(
        get_general_category(c),
        GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// Display names are 1 to 32 printable characters: no control characters,
/// no format or bidi characters. Names are not authenticated.
pub fn validate_name(name: &str) -> Result<&str, ValidationError> {
    let count = name.chars().count();
    let printable = name
        .chars()
        .all(|c| !c.is_control() && !is_invisible_format(c));
    if (1..=32).contains(&count) && printable && !name.trim().is_empty() {
        Ok(name)
    } else {
        Err(ValidationError::Name)
    }
}

/// Message text is 1 to `max_bytes` bytes (Rust strings are valid UTF-8
/// already) with no control characters but tab and line breaks: they show
/// as nothing, and JSON escapes each into six bytes.
pub fn validate_text(text: &str, max_bytes: usize) -> Result<&str, ValidationError> {
    let controls = text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'));
    if text.trim().is_empty() || text.len() > max_bytes || controls {
        Err(ValidationError::Text { max: max_bytes })
    } else {
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms() {
        assert!(validate_room("general").is_ok());
        assert!(validate_room("team-42").is_ok());
        assert_eq!(validate_room(""), Err(ValidationError::Room));
        assert_eq!(validate_room("General"), Err(ValidationError::Room));
        assert_eq!(validate_room("a/b"), Err(ValidationError::Room));
        assert_eq!(validate_room(&"a".repeat(33)), Err(ValidationError::Room));
        assert!(validate_room(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn names() {
        assert!(validate_name("Ada Lovelace").is_ok());
        assert!(validate_name("Zoë 🚀").is_ok());
        assert_eq!(validate_name(""), Err(ValidationError::Name));
        assert_eq!(validate_name("   "), Err(ValidationError::Name));
        assert_eq!(validate_name("a\u{7}b"), Err(ValidationError::Name));
        assert!(validate_name(&"é".repeat(32)).is_ok());
        assert_eq!(validate_name(&"é".repeat(33)), Err(ValidationError::Name));
        for spoof in [
            "eve\u{202E}nimda",
            "ad\u{200B}min",
            "\u{2066}bob\u{2069}",
            "a\u{2028}b",
            "a\u{2029}b",
            "\u{FEFF}bob",
        ] {
            assert_eq!(
                validate_name(spoof),
                Err(ValidationError::Name),
                "{spoof:?}"
            );
        }
    }

    #[test]
    fn texts() {
        assert!(validate_text("hi", 2).is_ok());
        assert_eq!(
            validate_text("hi!", 2),
            Err(ValidationError::Text { max: 2 })
        );
        assert_eq!(
            validate_text(" \n", 10),
            Err(ValidationError::Text { max: 10 })
        );
        assert_eq!(ValidationError::Text { max: 2 }.field(), "text");
        assert!(validate_text("line\nbreak\ttab\r\n", 100).is_ok());
        assert_eq!(
            validate_text("bell\u{7}", 100),
            Err(ValidationError::Text { max: 100 })
        );
        assert_eq!(
            validate_text("nul\u{0}", 100),
            Err(ValidationError::Text { max: 100 })
        );
    }
}
