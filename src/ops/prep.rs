//! `kbuild prep`: what Leiningen's default prep tasks (javac, compile) make, put into a
//! project.clj's `:compile-path` from kbuild's cache.

use std::sync::Arc;

use super::{build, Failure};
use crate::env::Options;
use crate::project::Project;

/// Returns the compile path and how many files had to be written to it.
pub fn prep(
    project: &Arc<Project>,
    json: bool,
    options: &Options,
) -> Result<(String, usize), Failure> {
    let Some(cp) = project.clojure.clone() else {
        return Err(Failure::Usage(format!(
            "{}: kbuild prep is for project.clj projects",
            project.file
        )));
    };
    let names: Vec<String> = ["java", "main"]
        .iter()
        .filter(|n| project.targets.contains_key(**n))
        .map(|n| n.to_string())
        .collect();
    let session = build(project, &names, json, options)?;
    let dest = project.root.join(&cp.compile_path);
    let mut written = 0;
    for n in &names {
        let from = session.engine.out_dir(n);
        for path in session
            .product(n)
            .map(|p| p.files)
            .unwrap_or_default()
            .keys()
        {
            let (src, dst) = (from.join(path), dest.join(path));
            if std::fs::read(&dst).ok() == std::fs::read(&src).ok() {
                continue;
            }
            let copied = dst
                .parent()
                .map(std::fs::create_dir_all)
                .transpose()
                .and_then(|_| std::fs::copy(&src, &dst));
            copied.map_err(|e| Failure::Env(format!("writing {}: {e}", dst.display())))?;
            written += 1;
        }
    }
    Ok((cp.compile_path, written))
}
