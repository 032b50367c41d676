//! Leiningen's `checkouts/`: each `checkouts/<name>` (a directory or a link to one) holding a
//! project.clj is another project whose paths go on the classpath ahead of its jar, as the
//! project's `:checkout-deps-shares` (Leiningen's default: source, test and resource paths,
//! then the compile path) puts them; its Java is compiled by a target of its own, which
//! stands for its compile path.

use std::path::Path;

use super::super::clojure::Tool;
use super::super::leiningen::{default_profiles, read_project_clj};
use super::super::SettingsError;

/// A checkout as targets: what it shares, in classpath order, and, when it shares its
/// compile path and has Java sources, their globs and javac options.
pub(super) struct Checkout {
    pub name: String,
    pub shared: Vec<Shared>,
    pub java: Option<(Vec<String>, Vec<String>)>,
}

/// One stretch of a checkout's classpath entries.
pub(super) enum Shared {
    /// Paths relative to the project root, through `checkouts/<name>`.
    Paths(Vec<String>),
    /// Its compile path: the classes its Java target compiles (nothing without Java).
    Compiled,
}

/// The checkouts of the project at `root`, by name (Leiningen takes them in the directory's
/// listing order, which the file system decides). A directory without a project.clj is left
/// out, as Leiningen leaves it out with a warning; one's own `checkouts/` are not read.
/// `shares` are the project's `:checkout-deps-shares` keys, in order, or why they could not
/// be read (an error once there is a checkout).
pub(super) fn read(
    root: &Path,
    tool: Tool,
    shares: &Result<Vec<String>, String>,
) -> Result<Vec<Checkout>, SettingsError> {
    if tool != Tool::Lein {
        return Ok(Vec::new());
    }
    let Ok(entries) = std::fs::read_dir(root.join("checkouts")) else {
        return Ok(Vec::new());
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let file = format!("checkouts/{name}/project.clj");
        let Ok(text) = std::fs::read_to_string(root.join(&file)) else {
            continue;
        };
        // Leiningen reads a checkout with its default profiles; the user's are not read here.
        let cp = read_project_clj(&text, &default_profiles("classpath"), &[]).map_err(|e| {
            SettingsError::File {
                file: format!("checkouts/{name}"),
                message: e.to_string(),
            }
        })?;
        let under = |p: &String| -> Result<String, SettingsError> {
            let p = p.trim_end_matches('/');
            let p = p.strip_prefix("./").unwrap_or(p);
            if p.starts_with('/') || p.split('/').any(|part| part == "..") {
                return Err(SettingsError::File {
                    file: file.clone(),
                    message: format!(
                        "the path {p:?} leaves the checkout; kbuild reads checkouts' paths inside them only"
                    ),
                });
            }
            Ok(format!("checkouts/{name}/{p}"))
        };
        let shares = shares
            .as_ref()
            .map_err(|e| SettingsError::Clojure(e.clone()))?;
        let mut shared: Vec<Shared> = Vec::new();
        for share in shares {
            let paths = match share.as_str() {
                "source-paths" => &cp.source_paths,
                "test-paths" => &cp.test_paths,
                "resource-paths" => &cp.resource_paths,
                "java-source-paths" => &cp.java_source_paths,
                "compile-path" => {
                    shared.push(Shared::Compiled);
                    continue;
                }
                // The reader let through only the keys above.
                _ => continue,
            };
            let paths: Vec<String> = paths.iter().map(under).collect::<Result<_, _>>()?;
            match shared.last_mut() {
                Some(Shared::Paths(run)) => run.extend(paths),
                _ if !paths.is_empty() => shared.push(Shared::Paths(paths)),
                _ => {}
            }
        }
        let compiled = shared.iter().any(|s| matches!(s, Shared::Compiled));
        let java = if cp.java_source_paths.is_empty() || !compiled {
            None
        } else {
            let srcs = cp
                .java_source_paths
                .iter()
                .map(|p| under(p).map(|p| format!("{p}/**/*.java")))
                .collect::<Result<_, _>>()?;
            Some((srcs, cp.javac_options.clone()))
        };
        out.push(Checkout { name, shared, java });
    }
    Ok(out)
}
