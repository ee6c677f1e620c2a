//! chatctl under `--local`: the project's own emulator from `chatctl local up`.

use std::path::Path;

use assert_cmd::Command;

use super::ministack_binary;
use super::project::{shared_target_dir, tools_path};

/// chatctl with no AWS settings of its own: `--local` must supply them.
pub fn local_chatctl(config: &Path) -> Command {
    let mut command = Command::cargo_bin("chatctl").expect("chatctl is built");
    command
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_REGION")
        .env_remove("AWS_PROFILE")
        .env_remove("CHATCTL_STAGE")
        .env_remove("CHATCTL_OUTPUT")
        // The installed emulator, so the test does not reinstall it per project.
        .env("CHATCTL_MINISTACK", ministack_binary())
        // The real handlers, built once per run (tests/support/project.rs).
        .env("CARGO_TARGET_DIR", shared_target_dir())
        .env("PATH", tools_path())
        .env("CI", "true")
        .arg("--config")
        .arg(config);
    command
}

/// Stops the emulator even when an assertion fails.
pub struct Down<'a>(pub &'a Path);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = local_chatctl(self.0).args(["local", "down"]).output();
    }
}
