//! Messages for people, on stderr. stdout is reserved for the command's result.

use std::io::IsTerminal;

/// How much to say on stderr, and whether progress bars may redraw.
#[derive(Debug, Clone)]
pub struct Ui {
    verbosity: i8,
    progress_bars: bool,
    interactive: bool,
}

impl Ui {
    /// `verbose` more lines per step (-v, -vv), or only errors (`quiet`);
    /// `no_progress` turns bars off even at a terminal.
    pub fn new(verbose: u8, quiet: bool, no_progress: bool) -> Ui {
        let stderr_is_terminal = std::io::stderr().is_terminal();
        Ui {
            verbosity: if quiet { -1 } else { verbose as i8 },
            progress_bars: !no_progress && !running_in_ci() && stderr_is_terminal,
            interactive: std::io::stdin().is_terminal() && stderr_is_terminal,
        }
    }

    /// Progress bars only when a person is watching a terminal: redrawn bars
    /// turn CI logs into control-character noise.
    pub fn progress_bars(&self) -> bool {
        self.progress_bars
    }

    /// Only errors are shown (-q).
    pub fn is_quiet(&self) -> bool {
        self.verbosity < 0
    }

    /// Whether chatctl may ask a question and wait for an answer.
    pub fn interactive(&self) -> bool {
        self.interactive
    }

    /// A normal progress message.
    pub fn info(&self, message: impl AsRef<str>) {
        if self.verbosity >= 0 {
            eprintln!("{}", message.as_ref());
        }
    }

    /// Detail shown with -v.
    pub fn detail(&self, message: impl AsRef<str>) {
        if self.verbosity >= 1 {
            eprintln!("{}", message.as_ref());
        }
    }

    /// Errors are always shown.
    pub fn error(&self, message: impl AsRef<str>) {
        eprintln!("error: {}", message.as_ref());
    }
}

/// CI systems set `CI` (GitHub Actions, GitLab, CircleCI, Buildkite, ...).
fn running_in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}
