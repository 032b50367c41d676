//! `kbuild jar` and `kbuild uberjar`: build the project's `:jar` (or `:uberjar`) targets.

use std::path::PathBuf;
use std::sync::Arc;

use super::{build, Failure};
use crate::env::Options;
use crate::project::{Project, Rule};

/// The jars built, where they are: a Leiningen project's where `lein jar` puts it
/// (`target/<name>-<version>[-standalone].jar`), a kbuild.edn's in its target's output.
pub fn jars(
    project: &Arc<Project>,
    uber: bool,
    json: bool,
    options: &Options,
) -> Result<Vec<PathBuf>, Failure> {
    let names = project.targets_where(|r| match r {
        Rule::Jar(_) => !uber,
        Rule::Uberjar(_) => uber,
        _ => false,
    });
    if names.is_empty() {
        let kind = if uber { ":uberjar" } else { ":jar" };
        return Err(Failure::Usage(format!(
            "{}: no {kind} target",
            project.file
        )));
    }
    let session = build(project, &names, json, options)?;
    let mut out = Vec::new();
    for n in &names {
        let built = session.engine.out_dir(n).join(format!("{n}.jar"));
        let path = match &project.clojure {
            Some(cp) => {
                let suffix = if uber { "-standalone" } else { "" };
                let dest = project
                    .root
                    .join(&cp.target_path)
                    .join(format!("{}-{}{suffix}.jar", cp.name, cp.version));
                let copied = dest
                    .parent()
                    .map(std::fs::create_dir_all)
                    .transpose()
                    .and_then(|_| std::fs::copy(&built, &dest));
                copied.map_err(|e| Failure::Env(format!("writing {}: {e}", dest.display())))?;
                dest
            }
            None => built,
        };
        out.push(path);
    }
    Ok(out)
}
