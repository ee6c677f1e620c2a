//! `CHATCTL_AWS_CALL_LOG`: every AWS operation chatctl starts, one line each.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Records every AWS operation chatctl starts, one `service operation` line
/// each, to the file named by `CHATCTL_AWS_CALL_LOG`. A debugging aid that
/// also lets tests prove a command made no write.
#[derive(Debug, Clone)]
pub(super) struct CallLog {
    file: Arc<Mutex<std::fs::File>>,
}

impl CallLog {
    pub(super) fn from_env() -> Option<CallLog> {
        let path = PathBuf::from(std::env::var_os("CHATCTL_AWS_CALL_LOG")?);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()?;
        Some(CallLog {
            file: Arc::new(Mutex::new(file)),
        })
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "chatctl-call-log"
    }

    // Not `read_before_execution`: client interceptors run that before the
    // operation has stored its `Metadata`.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        if let Some(metadata) = cfg.load::<Metadata>() {
            let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
            writeln!(file, "{} {}", metadata.service(), metadata.name())?;
        }
        Ok(())
    }
}
