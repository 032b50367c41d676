//! The libraries a deps.edn reaches that are not Maven artifacts: `:local/root` directories
//! and jars, and git dependencies' trees. Each becomes a library target of its own; what
//! they depend on is walked in turn. A git dependency is first a `git-lib` target, the build
//! step that exports its tree; only once a build brought it up to date (its [`Exports`]
//! entry) is the tree's deps.edn read, so reading a project fetches and writes nothing.

use std::path::Path;

use kbuild_resolvers::Dependency;

use crate::project::clojure::{Dep, Source};
use crate::project::{Exports, Rule, SettingsError, DEPS_EDN};

/// A library target: its name, its paths relative to the project root, and the `git-lib`
/// target that exports its tree, if it is a git dependency.
pub(super) struct Library {
    pub name: String,
    pub paths: Vec<String>,
    pub git: Option<String>,
}

/// What [`walk`] found.
#[derive(Default)]
pub(super) struct Walked {
    pub libraries: Vec<Library>,
    /// The Maven dependencies of the project and of every library, in order and
    /// de-duplicated: the project's own first, so that its top-level versions win.
    pub maven: Vec<Dependency>,
    /// The `git-lib` targets, each once.
    pub git: Vec<(String, Rule)>,
    /// Those of them whose tree no build has exported yet: their libraries, and what those
    /// depend on, are missing from the rest.
    pub pending: Vec<String>,
}

/// The `git-lib` target that exports a git library's tree at `sha`.
pub(super) fn git_target(group: &str, artifact: &str, sha: &str) -> String {
    format!("git:{group}/{artifact}@{sha}")
}

/// `dependencies` split into libraries (walked transitively, each once) and the Maven
/// dependencies of all; git libraries' trees are the ones in `exports`.
pub(super) fn walk(
    root: &Path,
    file: &str,
    dependencies: &[Dep],
    exports: &Exports,
) -> Result<Walked, SettingsError> {
    let bad = |m: String| SettingsError::File {
        file: file.into(),
        message: m,
    };
    let mut walked = Walked::default();
    let mut pending: Vec<(String, Dep)> = dependencies
        .iter()
        .map(|d| (String::new(), d.clone()))
        .collect();
    let mut seen_roots: Vec<String> = Vec::new();
    while !pending.is_empty() {
        let (base, Dep { maven: d, source }) = pending.remove(0);
        let (group, artifact) = (&d.coord.group, &d.coord.artifact);
        // A git dependency's tree or a :local/root is a library target of its own;
        // anything else is a Maven dependency.
        let (dir, coord, git) = match &source {
            Some(Source::Git(git)) => {
                let coord = format!("{group}/{artifact} {{:git/url {:?}}}", git.url);
                let name = git_target(group, artifact, &git.sha);
                if !walked.git.iter().any(|(n, _)| *n == name) {
                    let rule = Rule::GitLib {
                        url: git.url.clone(),
                        sha: git.sha.clone(),
                        tag: git.tag.clone(),
                        dir: crate::gitlibs::export_dir(group, artifact, &git.sha),
                    };
                    walked.git.push((name.clone(), rule));
                }
                let Some(export) = exports.get(&name) else {
                    if !walked.pending.contains(&name) {
                        walked.pending.push(name);
                    }
                    continue;
                };
                // deps.edn was read with :deps/root checked to stay inside the tree.
                let dir = match &git.deps_root {
                    Some(sub) => normalize(&format!("{export}/{}", sub.trim_matches('/'))),
                    None => export.clone(),
                };
                (dir, coord, Some(name))
            }
            Some(Source::Local(local)) => {
                let coord = format!("{group}/{artifact} {{:local/root {local:?}}}");
                (normalize(&format!("{base}{local}")), coord, None)
            }
            None => {
                if !walked.maven.iter().any(|m| {
                    m.coord.group == d.coord.group
                        && m.coord.artifact == d.coord.artifact
                        && m.coord.classifier == d.coord.classifier
                }) {
                    walked.maven.push(d);
                }
                continue;
            }
        };
        if seen_roots.contains(&dir) {
            continue;
        }
        seen_roots.push(dir.clone());
        let name = format!("local-{artifact}");
        if dir.ends_with(".jar") {
            // A jar goes on the classpath as it is; the pom.xml inside it, if any, names
            // its dependencies (as tools.deps reads it).
            let declared =
                jar_pom_dependencies(&root.join(&dir)).map_err(|e| bad(format!("{coord}: {e}")))?;
            walked.libraries.push(Library {
                name,
                paths: vec![dir],
                git,
            });
            pending.extend(declared.into_iter().map(|x| (String::new(), x)));
        } else {
            let (paths, deps) =
                local_library(root, &dir).map_err(|e| bad(format!("{coord}: {e}")))?;
            walked.libraries.push(Library { name, paths, git });
            pending.extend(deps);
        }
    }
    Ok(walked)
}

/// A library directory with its own deps.edn (a `:local/root`, a git dependency's tree): its
/// paths relative to the project root, and its dependencies, each with the directory its
/// own `:local/root`s are relative to.
#[allow(clippy::type_complexity)]
fn local_library(root: &Path, dir: &str) -> Result<(Vec<String>, Vec<(String, Dep)>), String> {
    let lib_file = root.join(dir).join(DEPS_EDN);
    let text = std::fs::read_to_string(&lib_file)
        .map_err(|e| format!("cannot read {}: {e}", lib_file.display()))?;
    let lib = crate::project::deps_edn::read_deps_edn(&text, &[]).map_err(|e| e.to_string())?;
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let paths = lib
        .source_paths
        .iter()
        .chain(&lib.resource_paths)
        .map(|p| normalize(&format!("{prefix}{p}")))
        .collect();
    let deps = lib
        .dependencies
        .into_iter()
        .map(|x| (prefix.clone(), x))
        .collect();
    Ok((paths, deps))
}

/// The dependencies the `META-INF/maven/*/*/pom.xml` inside a jar declares (none without one).
fn jar_pom_dependencies(jar: &Path) -> Result<Vec<Dep>, String> {
    let file =
        std::fs::File::open(jar).map_err(|e| format!("cannot read {}: {e}", jar.display()))?;
    let mut zip =
        zip::ZipArchive::new(file).map_err(|e| format!("{} is not a jar: {e}", jar.display()))?;
    let mut poms: Vec<String> = zip
        .file_names()
        .filter(|n| {
            let parts: Vec<&str> = n.split('/').collect();
            parts.len() == 5 && n.starts_with("META-INF/maven/") && parts[4] == "pom.xml"
        })
        .map(str::to_string)
        .collect();
    poms.sort();
    let Some(name) = poms.first() else {
        return Ok(Vec::new());
    };
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut zip
            .by_name(name)
            .map_err(|e| format!("{}: {e}", jar.display()))?,
        &mut bytes,
    )
    .map_err(|e| format!("{}: {e}", jar.display()))?;
    let declared = kbuild_resolvers::standalone_pom_dependencies(
        &bytes,
        &format!("{}!/{name}", jar.display()),
    )
    .map_err(|e| e.to_string())?;
    // Each typed by its extension (a `test-jar` is a `jar` classified `tests`), which is how
    // the resolution names it and kbuild.lock pins it; a system path never enters a target.
    Ok(declared
        .into_iter()
        .map(|d| {
            Dep::from(Dependency {
                type_: d.coord.extension.clone(),
                optional: false,
                system_path: None,
                ..d
            })
        })
        .collect())
}

/// A relative path with `.` and `dir/..` folded away, `/`-separated (`../lib/./src` →
/// `../lib/src`); leading `..` stay, since local roots may sit beside the project.
fn normalize(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if out.last().is_some_and(|p| *p != "..") => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    out.join("/")
}
