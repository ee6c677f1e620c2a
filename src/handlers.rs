//! The handler crates of a project: one Lambda function per binary crate
//! under the handlers directory.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A crate that becomes one Lambda function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerCrate {
    /// The crate's directory name, which names the function (`fanout`).
    pub name: String,
    pub dir: PathBuf,
}

impl HandlerCrate {
    /// The name in PascalCase, as used in CloudFormation logical ids (`fan-out` -> `FanOut`).
    pub fn logical_name(&self) -> String {
        self.name
            .split('-')
            .map(|part| {
                let mut chars = part.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                    None => String::new(),
                }
            })
            .collect()
    }
}

/// Finds the binary crates (a `Cargo.toml` and a `src/main.rs`) directly
/// under `dir`, sorted by name. Library crates such as the shared domain
/// crate are not functions and are skipped.
pub fn discover(dir: &Path) -> Result<Vec<HandlerCrate>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::usage(format!(
            "cannot read the handlers directory {}: {e}; set `handlers_dir` in the configuration",
            dir.display()
        ))
    })?;
    let mut handlers = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| Error::usage(format!("cannot list {}: {e}", dir.display())))?
            .path();
        if !(path.join("Cargo.toml").is_file() && path.join("src/main.rs").is_file()) {
            continue;
        }
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(Error::usage(format!(
                "handler crate directory `{}` must be named with a-z, 0-9 and '-', starting with a letter: it names the Lambda function",
                path.display()
            )));
        }
        handlers.push(HandlerCrate { name, dir: path });
    }
    if handlers.is_empty() {
        return Err(Error::usage(format!(
            "no handler crates in {}: each function is a directory with Cargo.toml and src/main.rs",
            dir.display()
        )));
    }
    handlers.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(handlers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_names_are_pascal_case() {
        let crate_named = |name: &str| HandlerCrate {
            name: name.to_string(),
            dir: PathBuf::new(),
        };
        assert_eq!(crate_named("fanout").logical_name(), "Fanout");
        assert_eq!(crate_named("fan-out-2").logical_name(), "FanOut2");
    }
}
