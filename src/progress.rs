//! Progress on stderr: indicatif bars when a person watches a terminal,
//! plain lines otherwise (CI logs get no control characters).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ui::Ui;

/// A set of named tasks, each shown as one line.
pub struct TaskList {
    bars: Option<(MultiProgress, Vec<(String, ProgressBar)>)>,
    quiet: bool,
}

impl TaskList {
    pub fn new(ui: &Ui, names: &[String], running: &str) -> TaskList {
        if !ui.progress_bars() {
            return TaskList {
                bars: None,
                quiet: ui.is_quiet(),
            };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{spinner} {prefix:>12} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bars = names
            .iter()
            .map(|name| {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(style.clone());
                bar.set_prefix(name.clone());
                bar.set_message(running.to_string());
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                (name.clone(), bar)
            })
            .collect();
        TaskList {
            bars: Some((multi, bars)),
            quiet: false,
        }
    }

    /// Marks a task finished with a message.
    pub fn finish(&self, name: &str, message: &str) {
        match &self.bars {
            Some((_, bars)) => {
                if let Some((_, bar)) = bars.iter().find(|(n, _)| n == name) {
                    bar.finish_with_message(message.to_string());
                }
            }
            None => {
                if !self.quiet {
                    eprintln!("{name}: {message}");
                }
            }
        }
    }

    /// Prints a line above the bars (or plainly).
    pub fn println(&self, line: &str) {
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bars that are still running (on failure).
    pub fn clear(&self) {
        if let Some((_, bars)) = &self.bars {
            for (_, bar) in bars {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
        }
    }
}
