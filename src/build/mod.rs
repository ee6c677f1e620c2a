//! `chatctl build`: every handler crate into a Lambda-ready, reproducible
//! `bootstrap.zip`, checked before it is packaged. `launch` and `update-code`
//! build through this same function.

pub mod cargo;
pub mod elf;
pub mod manifest;
pub mod package;
pub mod toolchain;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{Architecture, Project};
use crate::error::{Error, Result};
use crate::handlers::{self, HandlerCrate};
use crate::progress::TaskList;
use crate::ui::Ui;
pub use manifest::{BuiltHandler, Manifest};

/// What a build produced.
#[derive(Debug, Clone)]
pub struct BuildResult {
    pub manifest: Manifest,
    pub manifest_path: PathBuf,
    /// Handlers built in this run, by name; with whether the zip was rewritten.
    pub built: BTreeMap<String, bool>,
}

/// Builds the named handlers (all when `names` is empty) for `architecture`.
pub fn build(
    project: &Project,
    names: &[String],
    architecture: Architecture,
    ui: &Ui,
) -> Result<BuildResult> {
    let crates = select(handlers::discover(&project.handlers_dir())?, names)?;
    let workspace = cargo::metadata(&crates[0].dir)?;
    let packages = crates
        .iter()
        .map(|c| package_of(&workspace, c))
        .collect::<Result<Vec<_>>>()?;
    let toolchain = toolchain::locate(&workspace.root, architecture)?;
    let (triple, triple_with_glibc) = toolchain::target(architecture);

    let names: Vec<String> = crates.iter().map(|c| c.name.clone()).collect();
    let tasks = TaskList::new(ui, &names, "compiling");
    let name_of = |package: &str| {
        crates
            .iter()
            .zip(&packages)
            .find(|(_, p)| p.name == package)
            .map(|(c, _)| c.name.clone())
            .unwrap_or_default()
    };
    let zigbuild = cargo::ZigBuild {
        workspace: &workspace,
        packages: &packages,
        target: triple_with_glibc,
        profile: project.build_profile(),
        path_env: &toolchain.path,
        capture_stderr: ui.progress_bars(),
        quiet: ui.is_quiet(),
    };
    let executables = zigbuild
        .run(&|line| tasks.println(line), &mut |package| {
            tasks.finish(&name_of(package), "compiled, packaging")
        })
        .inspect_err(|_| tasks.clear())?;

    let out_dir = out_dir(&workspace.target_dir, architecture, project.build_profile());
    let manifest_path = out_dir.join("manifest.json");
    let mut manifest = Manifest::read_or_new(&manifest_path, architecture);
    let packaged: Vec<Result<(String, BuiltHandler, bool)>> = std::thread::scope(|scope| {
        let jobs: Vec<_> = crates
            .iter()
            .zip(&packages)
            .map(|(handler, package)| {
                let previous = manifest.handlers.get(&handler.name).cloned();
                let executable = executables.get(&package.name).cloned();
                let zip_path = out_dir.join(&handler.name).join("bootstrap.zip");
                scope.spawn(move || {
                    let executable = executable.ok_or_else(|| {
                        Error::failed(format!(
                            "cargo reported no executable for {} ({triple})",
                            package.name
                        ))
                    })?;
                    package_one(
                        handler,
                        package,
                        &executable,
                        &zip_path,
                        previous,
                        architecture,
                    )
                })
            })
            .collect();
        jobs.into_iter()
            .map(|job| {
                job.join()
                    .unwrap_or_else(|_| Err(Error::failed("packaging thread panicked")))
            })
            .collect()
    });
    let mut built = BTreeMap::new();
    for result in packaged {
        let (name, handler, rewritten) = result.inspect_err(|_| tasks.clear())?;
        tasks.finish(
            &name,
            &format!(
                "{} ({} bytes, sha256 {})",
                handler.zip.display(),
                handler.size,
                &handler.sha256[..12]
            ),
        );
        manifest.handlers.insert(name.clone(), handler);
        built.insert(name, rewritten);
    }
    manifest.write(&manifest_path)?;
    Ok(BuildResult {
        manifest,
        manifest_path,
        built,
    })
}

/// Where the zips and their manifest go: one directory per architecture, and
/// per profile when it is not the default one, so switching stages does not
/// rewrite every zip back and forth.
fn out_dir(target_dir: &Path, architecture: Architecture, profile: &str) -> PathBuf {
    let dir = target_dir.join("chatctl");
    match profile {
        "lambda" => dir.join(architecture.lambda_name()),
        other => dir.join(format!("{}-{other}", architecture.lambda_name())),
    }
}

/// The crates named on the command line, or all of them.
pub fn select(crates: Vec<HandlerCrate>, names: &[String]) -> Result<Vec<HandlerCrate>> {
    if names.is_empty() {
        return Ok(crates);
    }
    let known: Vec<&str> = crates.iter().map(|c| c.name.as_str()).collect();
    if let Some(unknown) = names.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(Error::usage(format!(
            "there is no handler `{unknown}`: the handlers are {}",
            known.join(", ")
        )));
    }
    Ok(crates
        .into_iter()
        .filter(|c| names.contains(&c.name))
        .collect())
}

fn package_of(workspace: &cargo::Workspace, handler: &HandlerCrate) -> Result<cargo::Package> {
    let dir = handler
        .dir
        .canonicalize()
        .unwrap_or_else(|_| handler.dir.clone());
    workspace.packages.get(&dir).cloned().ok_or_else(|| {
        Error::usage(format!(
            "{} is not a binary package of the workspace at {}: add it to the workspace's members",
            handler.dir.display(),
            workspace.root.display()
        ))
    })
}

/// Checks and zips one binary; reuses the previous zip when the binary is
/// byte-for-byte the same and the zip is intact.
fn package_one(
    handler: &HandlerCrate,
    package: &cargo::Package,
    executable: &Path,
    zip_path: &Path,
    previous: Option<BuiltHandler>,
    architecture: Architecture,
) -> Result<(String, BuiltHandler, bool)> {
    let binary = std::fs::read(executable).map_err(|e| {
        Error::failed(format!(
            "cannot read the built binary {}: {e}",
            executable.display()
        ))
    })?;
    elf::check(&binary, architecture, elf::AL2023_GLIBC).map_err(|reason| {
        Error::failed(format!(
            "refusing to package {} ({}): {reason}",
            handler.name,
            executable.display()
        ))
    })?;
    let binary_sha256 = package::sha256_hex(&binary);
    if let Some(previous) =
        previous.filter(|p| p.binary_sha256 == binary_sha256 && p.zip == zip_path)
    {
        if std::fs::read(zip_path).is_ok_and(|zip| package::sha256_hex(&zip) == previous.sha256) {
            return Ok((handler.name.clone(), previous, false));
        }
    }
    let zip = package::bootstrap_zip(&binary)
        .map_err(|e| Error::failed(format!("cannot zip {}: {e}", handler.name)))?;
    manifest::write_atomically(zip_path, &zip)?;
    let built = BuiltHandler {
        package: package.name.clone(),
        zip: zip_path.to_path_buf(),
        size: zip.len() as u64,
        sha256: package::sha256_hex(&zip),
        code_sha256: package::sha256_base64(&zip),
        binary_size: binary.len() as u64,
        binary_sha256,
    };
    Ok((handler.name.clone(), built, true))
}
