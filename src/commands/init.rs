//! `chatctl init [DIR]`: a new chat project (`init::init`).

use crate::cli::InitArgs;
use crate::error::Result;
use crate::output::Report;

pub fn run(args: &InitArgs) -> Result<Report> {
    let result = crate::init::init(&args.dir, args.app.as_deref(), args.force)?;
    let mut text = format!(
        "created the chat project `{}` in {} ({} files)\n\nnext:\n",
        result.app,
        result.dir.display(),
        result.files.len()
    );
    for command in &result.next {
        text.push_str(&format!("  {command}\n"));
    }
    text.push_str(
        "\nchatctl local up needs Python 3; builds need Zig and cargo-zigbuild \
(pip install ziglang cargo-zigbuild). .github/workflows/deploy.yml deploys on every push \
to main once its role ARN and chatctl source are set.\n",
    );
    Ok(Report::new(
        text,
        serde_json::to_value(&result).unwrap_or_default(),
    ))
}
