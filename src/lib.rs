//! chatctl as a library: the binary is a thin layer over `app::run`, and tests
//! call the same modules directly.

pub mod app;
pub mod aws;
pub mod build;
pub mod cli;
pub mod commands;
pub mod config;
pub mod cost;
pub mod deploy;
pub mod dev;
pub mod error;
pub mod functions;
pub mod handlers;
pub mod init;
pub mod local;
pub mod output;
pub mod process;
pub mod progress;
pub mod site;
pub mod template;
pub mod ui;

pub use error::{Error, ExitStatus, Result};
