//! One module per command. Each takes the parsed arguments and returns a
//! `Report`; printing is `app::run`'s job.

pub mod build;
pub mod completions;
pub mod cost;
pub mod delete;
pub mod dev;
pub mod init;
pub mod invoke;
pub mod launch;
pub mod local;
pub mod logs;
pub mod output;
pub mod status;
pub mod template;
pub mod update;
