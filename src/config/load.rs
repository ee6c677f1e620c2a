//! Reading `chatctl.yaml`: the file, its parse, and errors that point at
//! the line of the offending key with a hint.

use std::path::Path;

use crate::error::{Error, Result};

use super::{Config, Name};

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::ConfigMissing {
                    path: path.to_path_buf(),
                    hint: "create it (examples/chatctl.yaml is a starting point) or pass --config FILE"
                        .to_string(),
                })
            }
            Err(source) => {
                return Err(Error::ConfigUnreadable {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Config::parse(&text, path)
    }

    /// Parses configuration text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        if text.trim().is_empty() {
            return Err(Error::ConfigInvalid {
                path: path.to_path_buf(),
                line: Some(1),
                column: Some(1),
                message: "the file is empty".to_string(),
                hint: "add at least `app: NAME` (see examples/chatctl.yaml)".to_string(),
            });
        }
        let config: Config =
            serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(text))
                .map_err(|e| invalid(path, text, &e))?;
        config
            .check_stage(&config.stage)
            .map_err(|message| Error::ConfigInvalid {
                path: path.to_path_buf(),
                line: line_of_key(text, "stage"),
                column: Some(1),
                message,
                hint: "add the stage to `stages`, or pick one of those listed".to_string(),
            })?;
        // A profile for a stage that can never be deployed is a typo.
        for stage in config.build.stage_profiles.keys() {
            config
                .check_stage(stage)
                .map_err(|message| Error::ConfigInvalid {
                    path: path.to_path_buf(),
                    line: line_of_path(text, &["build", "stage_profiles", &stage.0]),
                    column: Some(1),
                    message: format!("build.stage_profiles: {message}"),
                    hint: "name a stage listed in `stages`".to_string(),
                })?;
        }
        Ok(config)
    }

    /// Refuses a stage the configuration does not list (when it lists any).
    pub fn check_stage(&self, stage: &Name) -> std::result::Result<(), String> {
        if self.stages.is_empty() || self.stages.contains(stage) {
            Ok(())
        } else {
            let known: Vec<&str> = self.stages.iter().map(|s| s.0.as_str()).collect();
            Err(format!(
                "stage `{stage}` is not one of this project's stages ({})",
                known.join(", ")
            ))
        }
    }
}

/// The 1-based line of a top-level key, for errors found after parsing.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    line_of_path(text, &[key])
}

/// The 1-based line of a nested key such as `["domain", "certificate_arn"]`,
/// found by indentation. Used for checks that serde_yaml reports at the
/// enclosing mapping rather than at the value.
fn line_of_path(text: &str, keys: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let (mut from, mut parent_indent, mut found) = (0, None::<usize>, None);
    for key in keys {
        let prefix = format!("{key}:");
        let mut hit = None;
        for (index, line) in lines.iter().enumerate().skip(from) {
            let content = line.trim_start();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let indent = line.len() - content.len();
            if parent_indent.is_some_and(|parent| indent <= parent) {
                break; // left the parent's block
            }
            if content.starts_with(&prefix) {
                hit = Some((index, indent));
                break;
            }
        }
        let (index, indent) = hit?;
        from = index + 1;
        parent_indent = Some(indent);
        found = Some(index + 1);
    }
    found
}

/// Turns a deserialization error into a configuration error with position and hint.
fn invalid(
    path: &Path,
    text: &str,
    error: &serde_path_to_error::Error<serde_yaml::Error>,
) -> Error {
    let inner = error.inner();
    let full = inner.to_string();
    // serde_yaml appends " at line L column C"; the position is reported separately.
    let mut message = match full.find(" at line ") {
        Some(index) => full[..index].to_string(),
        None => full.clone(),
    };
    // serde_yaml prefixes some messages with its own, sometimes shorter, key
    // path ("chat: ..."); the path from serde_path_to_error is the exact one.
    if let Some((head, rest)) = message.split_once(": ") {
        if !head.contains(' ') && !head.contains('`') {
            message = rest.to_string();
        }
    }
    let key_path = error.path().to_string();
    let last_key = key_path.rsplit('.').next().unwrap_or_default();
    let names_key_already = message.contains(&format!("`{last_key}`"));
    if key_path != "." && !names_key_already && !is_yaml_syntax_error(&message) {
        message = format!("{key_path}: {message}");
    }
    let keys: Vec<&str> = key_path
        .split('.')
        .take_while(|k| !k.contains('['))
        .filter(|k| !k.is_empty())
        .collect();

    let mut line = inner.location().map(|l| l.line());
    let mut column = inner.location().map(|l| l.column());
    if let Some(key_line) = line_of_path(text, &keys) {
        if line.is_none_or(|l| key_line > l) {
            line = Some(key_line);
            column = None;
        }
    }
    let hint = if message.contains("unknown field") {
        "remove or correct the key: the keys allowed here are listed above and in README.md (Configuration)"
    } else if message.contains("unknown variant") {
        "use one of the values listed above"
    } else if message.contains("invalid type") || message.contains("invalid value") {
        "change the value to the type named above (README.md, Configuration, lists every key)"
    } else if message.contains("missing field") {
        "add the missing key (README.md, Configuration, lists every key)"
    } else if message.contains("duplicate") {
        "keep one of the repeated keys"
    } else if is_yaml_syntax_error(&message) {
        "this is not valid YAML: check indentation (spaces, not tabs), colons and quoting"
    } else {
        "README.md, Configuration, lists every key and its allowed values"
    };
    Error::ConfigInvalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
        hint: hint.to_string(),
    }
}

/// libyaml's scanner and parser messages, as serde_yaml passes them on.
fn is_yaml_syntax_error(message: &str) -> bool {
    [
        "did not find expected",
        "could not find expected",
        "not allowed in this context",
        "found character",
        "found unexpected",
        "tab character",
        "while scanning",
        "while parsing",
        "unexpected end",
    ]
    .iter()
    .any(|phrase| message.contains(phrase))
}
