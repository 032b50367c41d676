//! deps.edn git dependencies, fetched as tools.deps fetches them: one bare mirror per
//! repository in a shared cache (`$GITLIBS`, else `~/.gitlibs`, under `_repos/`), and the
//! library's tree at its commit exported into the project, at
//! `.kbuild/gitlibs/<group>/<artifact>/<sha>`, so that targets name it by a relative path
//! (cache keys hold no absolute paths). An export is never changed once made: a commit's
//! tree is immutable, so when it exists no git command runs at all.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::project::GitCoord;

/// Where exports live, relative to the project root.
const EXPORTS: &str = ".kbuild/gitlibs";

/// Why a git lib's name cannot be its export directory, or `None` if it can.
pub fn unsafe_lib_name(group: &str, artifact: &str) -> Option<String> {
    kbuild_engine::check_contained(&format!("{group}/{artifact}"))
        .err()
        .map(|problem| {
            format!(
                "the lib name of a git dependency names the directory it is exported to \
                 (under {EXPORTS}/), and this one {problem}"
            )
        })
}

/// Makes the library's tree available in the project; returns its directory relative to
/// `root` (the `:deps/root` inside the export, if given).
pub fn checkout(
    root: &Path,
    group: &str,
    artifact: &str,
    coord: &GitCoord,
    offline: bool,
) -> Result<String, String> {
    // Nothing is written before every path made from the coordinate is known to stay inside
    // the project.
    if let Some(problem) = unsafe_lib_name(group, artifact) {
        return Err(format!("{group}/{artifact}: {problem}"));
    }
    let sub = match &coord.deps_root {
        None => None,
        Some(sub) => {
            let sub = sub.trim_matches('/');
            kbuild_engine::check_contained(sub).map_err(|e| format!(":deps/root {sub:?} {e}"))?;
            Some(sub)
        }
    };
    let lib_dir = format!("{EXPORTS}/{group}/{artifact}");
    let lib_path = root.join(&lib_dir);
    let sha = match exported(&lib_path, coord) {
        Some(sha) => sha,
        None => {
            let repo = mirror(&coord.url, offline)?;
            let sha = commit(&repo, coord, offline)?;
            export(&repo, &sha, &lib_path.join(&sha))?;
            if let Some(tag) = &coord.tag {
                // Remembers that the tag was checked against the SHA (see `exported`).
                let marker = lib_path.join(tag_marker(tag));
                std::fs::write(&marker, &sha).map_err(|e| format!("{}: {e}", marker.display()))?;
            }
            sha
        }
    };
    let mut dir = format!("{lib_dir}/{sha}");
    if let Some(sub) = sub {
        dir = format!("{dir}/{sub}");
    }
    Ok(dir)
}

/// The full SHA of an existing export the coordinate names: its full SHA, or with a tag, the
/// commit that tag was found to be (and the SHA prefix agreed with) when it was exported.
fn exported(lib_dir: &Path, coord: &GitCoord) -> Option<String> {
    let sha = match &coord.tag {
        None => coord.sha.clone(),
        Some(tag) => std::fs::read_to_string(lib_dir.join(tag_marker(tag))).ok()?,
    };
    (sha.len() == 40 && sha.starts_with(&coord.sha) && lib_dir.join(&sha).is_dir()).then_some(sha)
}

fn tag_marker(tag: &str) -> String {
    format!(".tag-{}", mirror_name(tag).replace('/', "_"))
}

fn cache_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("GITLIBS") {
        return Ok(PathBuf::from(dir));
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".gitlibs"))
        .ok_or_else(|| "neither GITLIBS nor HOME is set".to_string())
}

/// `https://host/a/b.git` → `https/host/a/b.git`: a directory name for the mirror.
fn mirror_name(url: &str) -> String {
    url.replace("://", "/")
        .split('/')
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._-".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn git(args: &[&str]) -> Command {
    let mut c = Command::new("git");
    c.args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null());
    c
}

/// Runs git; its stderr becomes the error.
fn run(mut cmd: Command, what: &str) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run git ({what}): {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The bare mirror of `url` in the cache, cloned on first use.
fn mirror(url: &str, offline: bool) -> Result<PathBuf, String> {
    let repo = cache_dir()?.join("_repos").join(mirror_name(url));
    if repo.join("HEAD").exists() {
        return Ok(repo);
    }
    if offline {
        return Err(format!("offline, and {url} has never been fetched"));
    }
    let parent = repo.parent().expect("a name under _repos");
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let tmp = tempfile::tempdir_in(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let into = tmp.path().join("repo");
    run(
        git(&[
            "clone",
            "--quiet",
            "--mirror",
            "--",
            url,
            &into.to_string_lossy(),
        ]),
        &format!("git clone {url}"),
    )?;
    // Another kbuild may have cloned it meanwhile; either copy is good.
    if std::fs::rename(&into, &repo).is_err() && !repo.join("HEAD").exists() {
        return Err(format!(
            "cannot move the clone of {url} into {}",
            repo.display()
        ));
    }
    Ok(repo)
}

/// The full SHA the coordinate names, fetching once if the mirror does not have it yet. With
/// a tag, the tag decides and the SHA must agree with it.
fn commit(repo: &Path, coord: &GitCoord, offline: bool) -> Result<String, String> {
    let git_dir = format!("--git-dir={}", repo.display());
    let wanted = match &coord.tag {
        Some(tag) => format!("refs/tags/{tag}^{{commit}}"),
        None => format!("{}^{{commit}}", coord.sha),
    };
    let lookup = || {
        run(
            git(&[&git_dir, "rev-parse", "--verify", "--quiet", &wanted]),
            "git rev-parse",
        )
        .ok()
        .filter(|s| s.len() == 40)
    };
    let found = match lookup() {
        Some(sha) => Some(sha),
        None if !offline => {
            run(
                git(&[&git_dir, "fetch", "--quiet", "--prune", "--tags", "origin"]),
                &format!("git fetch {}", coord.url),
            )?;
            lookup()
        }
        None => None,
    };
    let what = match &coord.tag {
        Some(tag) => format!("tag {tag}"),
        None => format!("commit {}", coord.sha),
    };
    let sha = found.ok_or_else(|| {
        let hint = if offline {
            " (offline: not fetched again)"
        } else {
            ""
        };
        format!("{what} is not in {}{hint}", coord.url)
    })?;
    if !sha.starts_with(&coord.sha) {
        return Err(format!(
            "{what} of {} is commit {sha}, not :git/sha {}",
            coord.url, coord.sha
        ));
    }
    Ok(sha)
}

/// Writes the commit's tree to `dest` (through a temporary sibling, so that an interrupted
/// export is never taken for a finished one).
fn export(repo: &Path, sha: &str, dest: &Path) -> Result<(), String> {
    if dest.is_dir() {
        return Ok(());
    }
    let parent = dest.parent().expect("under the lib directory");
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let tmp = tempfile::tempdir_in(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let archive = git(&[
        &format!("--git-dir={}", repo.display()),
        "archive",
        "--format=tar",
        sha,
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .map_err(|e| format!("cannot run git archive: {e}"))?;
    let mut archive = archive;
    let untar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(tmp.path())
        .stdin(archive.stdout.take().expect("piped"))
        .output()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    let archived = archive
        .wait_with_output()
        .map_err(|e| format!("git archive: {e}"))?;
    if !archived.status.success() || !untar.status.success() {
        return Err(format!(
            "exporting {sha}: {}{}",
            String::from_utf8_lossy(&archived.stderr).trim(),
            String::from_utf8_lossy(&untar.stderr).trim()
        ));
    }
    let tree = tmp.keep();
    if std::fs::rename(&tree, dest).is_err() {
        let _ = std::fs::remove_dir_all(&tree);
        if !dest.is_dir() {
            return Err(format!("cannot create {}", dest.display()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lib_name_that_leaves_the_exports_is_named_unsafe() {
        assert!(unsafe_lib_name("my", "lib").is_none());
        let err = unsafe_lib_name("x", "../../../escaped").unwrap();
        assert!(
            err.contains(".kbuild/gitlibs/") && err.contains("`..`"),
            "{err}"
        );
    }

    #[test]
    fn checkout_writes_nothing_for_an_escaping_lib_name_or_deps_root() {
        let root = tempfile::tempdir().unwrap();
        let project = root.path().join("project");
        std::fs::create_dir(&project).unwrap();
        let coord = |deps_root: Option<&str>| GitCoord {
            url: "file:///nonexistent/repo.git".into(),
            sha: "0".repeat(40),
            tag: None,
            deps_root: deps_root.map(str::to_string),
        };
        let err = checkout(&project, "x", "../../../escaped", &coord(None), true).unwrap_err();
        assert!(
            err.starts_with("x/../../../escaped: ") && err.contains("`..`"),
            "{err}"
        );
        let err = checkout(&project, "/tmp/x", "/tmp/x", &coord(None), true).unwrap_err();
        assert!(err.contains("absolute"), "{err}");
        let err = checkout(&project, "my", "lib", &coord(Some("../..")), true).unwrap_err();
        assert!(err.contains(":deps/root") && err.contains("`..`"), "{err}");
        let left: Vec<_> = walk(root.path());
        assert_eq!(left, vec![project], "nothing but the project itself");
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            out.push(e.path());
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            }
        }
        out
    }

    #[test]
    fn mirror_names_are_paths_without_schemes_or_odd_characters() {
        assert_eq!(
            mirror_name("https://github.com/a/b.git"),
            "https/github.com/a/b.git"
        );
        assert_eq!(mirror_name("file:///srv/x y/../r"), "file/srv/x_y/r");
        assert_eq!(mirror_name("git@host:a/b"), "git_host_a/b");
    }
}
