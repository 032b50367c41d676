//! Commands that look rather than build: digests under a hasher, the target graph, a
//! target's outputs and why it was last built.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{build, known_targets, Failure};
use crate::env::Options;
use crate::printer::Printer;
use crate::project::{Project, Rule};
use crate::session::Session;

/// Each file's digest under the hasher (`--hasher`, else the one its project's build file
/// chooses for it, else sha512), as `<hex>  <file>` lines; a file that does not parse as its
/// hasher's language gets its raw digest and a warning.
pub fn hash(
    dir: &Path,
    hasher: Option<&str>,
    files: &[PathBuf],
) -> Result<Vec<(String, Option<String>)>, Failure> {
    let mut out = Vec::new();
    let forced = match hasher {
        Some(name) => Some(kbuild_hashers::by_name(name).ok_or_else(|| {
            Failure::Usage(format!(
                "unknown hasher {name} (known: {})",
                kbuild_hashers::names().join(", ")
            ))
        })?),
        None => None,
    };
    // Without --hasher, a file inside a project gets the hasher its build file chooses.
    let project = Project::discover(dir).ok();
    for f in files {
        let abs = dir.join(f);
        let bytes =
            std::fs::read(&abs).map_err(|e| Failure::Env(format!("{}: {e}", f.display())))?;
        let h = forced.unwrap_or_else(|| {
            let rel = project.as_ref().and_then(|p| {
                let abs = std::fs::canonicalize(&abs).ok()?;
                let root = std::fs::canonicalize(&p.root).ok()?;
                Some((
                    p,
                    abs.strip_prefix(root).ok()?.to_string_lossy().into_owned(),
                ))
            });
            match rel {
                Some((p, rel)) => p.hasher_for(&rel),
                None => kbuild_hashers::by_name("sha512").expect("sha512 is built in"),
            }
        });
        let (digest, err) = kbuild_hashers::digest_or_raw(h, &bytes);
        let warning = err.map(|e| {
            format!(
                "{}: does not parse as {} ({e}); printing its raw digest",
                f.display(),
                h.id()
            )
        });
        out.push((format!("{}  {}", digest.to_hex(), f.display()), warning));
    }
    Ok(out)
}

/// The target graph in DOT.
pub fn graph(project: &Project) -> String {
    let mut out = String::from("digraph kbuild {\n  rankdir=LR;\n  node [shape=box];\n");
    for name in &project.order {
        let t = &project.targets[name];
        let kind = t.rule.kind();
        let shape = if matches!(t.rule, Rule::Jar(_) | Rule::Uberjar(_)) {
            ", shape=box3d"
        } else {
            ""
        };
        out.push_str(&format!(
            "  \"{name}\" [label=\"{name}\\n{kind}\"{shape}];\n"
        ));
    }
    for name in &project.order {
        for d in &project.targets[name].deps {
            out.push_str(&format!("  \"{name}\" -> \"{d}\";\n"));
        }
    }
    out.push_str("}\n");
    out
}

/// Builds the target; returns the paths of its output files.
pub fn outputs(
    project: &Arc<Project>,
    target: &str,
    json: bool,
    options: &Options,
) -> Result<Vec<PathBuf>, Failure> {
    let session = build(project, &[target.to_string()], json, options)?;
    let out = session.engine.out_dir(target);
    Ok(session
        .product(target)
        .map(|p| p.files)
        .unwrap_or_default()
        .keys()
        .map(|path| out.join(path))
        .collect())
}

/// Why the target was last rebuilt, restored, or found up to date.
pub fn explain(
    project: Arc<Project>,
    target: &str,
    json: bool,
    options: Options,
) -> Result<String, Failure> {
    known_targets(&project, &[target.to_string()])?;
    let session = Session::open(project, Arc::new(Printer::new(json)), options)?;
    Ok(match session.engine.note(target)? {
        None => format!("{target} has not been built yet"),
        Some(n) => {
            let mut out = format!(
                "{target} ({}): {}\n  because {}",
                n.rule, n.status, n.reason
            );
            if let Some(detail) = n.detail {
                out.push_str(&format!("\n  {detail}"));
            }
            out
        }
    })
}
