//! Leiningen's `checkouts/`: each `checkouts/<name>` (a directory or a link to one) holding a
//! project.clj is another project whose paths go on the classpath ahead of its jar, as
//! `:checkout-deps-shares` (Leiningen's default: source, test and resource paths, then the
//! compile path) puts them; its Java is compiled by a target of its own, which stands for its
//! compile path.

use std::path::Path;

use super::super::clojure::Tool;
use super::super::leiningen::{default_profiles, read_project_clj};
use super::super::SettingsError;

/// A checkout as targets: its shared paths (relative to the project root, through
/// `checkouts/<name>`) and, when it has Java sources, their globs and javac options.
pub(super) struct Checkout {
    pub name: String,
    pub paths: Vec<String>,
    pub java: Option<(Vec<String>, Vec<String>)>,
}

/// The checkouts of the project at `root`, by name (Leiningen takes them in the directory's
/// listing order, which the file system decides). A directory without a project.clj is left
/// out, as Leiningen leaves it out with a warning; one's own `checkouts/` are not read.
pub(super) fn read(root: &Path, tool: Tool) -> Result<Vec<Checkout>, SettingsError> {
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
        let paths = cp
            .source_paths
            .iter()
            .chain(&cp.test_paths)
            .chain(&cp.resource_paths)
            .map(under)
            .collect::<Result<_, _>>()?;
        let java = if cp.java_source_paths.is_empty() {
            None
        } else {
            let srcs = cp
                .java_source_paths
                .iter()
                .map(|p| under(p).map(|p| format!("{p}/**/*.java")))
                .collect::<Result<_, _>>()?;
            Some((srcs, cp.javac_options.clone()))
        };
        out.push(Checkout { name, paths, java });
    }
    Ok(out)
}
