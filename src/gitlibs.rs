//! deps.edn git dependencies, fetched as tools.deps fetches them: one bare mirror per
//! repository in a shared cache (`$GITLIBS`, else `~/.gitlibs`, under `_repos/`), and the
//! library's tree at its commit exported by the `git-lib` rule (`crate::rules`), whose
//! product it is, at `.kbuild/gitlibs/<group>/<artifact>/<sha>` in the project: targets name
//! it by a relative path (cache keys hold no absolute paths). Reading a build file only
//! names these places; nothing here runs before a build asks for the export.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::project::GitCoord;

/// Where exports live, relative to the project root.
const EXPORTS: &str = ".kbuild/gitlibs";

/// Why a git library could not be fetched or exported.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("offline, and {0} has never been fetched")]
    NeverFetched(String),
    #[error("{what} is not in {url}{}", if *.offline { " (offline: not fetched again)" } else { "" })]
    NotFound {
        what: String,
        url: String,
        offline: bool,
    },
    #[error("{what} of {url} is commit {found}, not :git/sha {sha}")]
    TagIsNotSha {
        what: String,
        url: String,
        found: String,
        sha: String,
    },
    #[error("{what} failed: {stderr}")]
    Failed { what: String, stderr: String },
    #[error("cannot run {tool}: {source}")]
    Run {
        tool: &'static str,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("neither GITLIBS nor HOME is set")]
    NoCache,
}

impl GitError {
    /// Whether the machine is at fault (git missing, an unwritable cache) rather than the
    /// repository or the coordinate.
    pub fn is_environment(&self) -> bool {
        matches!(
            self,
            GitError::Run { .. } | GitError::Io { .. } | GitError::NoCache
        )
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> GitError + '_ {
    move |source| GitError::Io {
        path: path.to_path_buf(),
        source,
    }
}

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

/// Where the library's tree at `sha` (as the coordinate writes it) is exported, relative to
/// the project root. The name was checked by [`unsafe_lib_name`] when deps.edn was read.
pub fn export_dir(group: &str, artifact: &str, sha: &str) -> String {
    format!("{EXPORTS}/{group}/{artifact}/{sha}")
}

/// The bare mirror of the coordinate's repository and the full SHA of the commit it names,
/// cloned or fetched as needed (never when `offline`). With a tag, the tag decides and the
/// SHA must agree with it.
pub fn fetch(coord: &GitCoord, offline: bool) -> Result<(PathBuf, String), GitError> {
    // One git at a time in a mirror: two fetches into one repository race for its refs.
    static MIRRORS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = MIRRORS.lock().unwrap_or_else(|e| e.into_inner());
    let repo = mirror(&coord.url, offline)?;
    let sha = commit(&repo, coord, offline)?;
    Ok((repo, sha))
}

fn cache_dir() -> Result<PathBuf, GitError> {
    if let Some(dir) = std::env::var_os("GITLIBS") {
        return Ok(PathBuf::from(dir));
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".gitlibs"))
        .ok_or(GitError::NoCache)
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
fn run(mut cmd: Command, what: &str) -> Result<String, GitError> {
    let out = cmd.output().map_err(|source| GitError::Run {
        tool: "git",
        source,
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(GitError::Failed {
            what: what.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// The bare mirror of `url` in the cache, cloned on first use.
fn mirror(url: &str, offline: bool) -> Result<PathBuf, GitError> {
    let repo = cache_dir()?.join("_repos").join(mirror_name(url));
    if repo.join("HEAD").exists() {
        return Ok(repo);
    }
    if offline {
        return Err(GitError::NeverFetched(url.to_string()));
    }
    let parent = repo.parent().expect("a name under _repos");
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let tmp = tempfile::tempdir_in(parent).map_err(io(parent))?;
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
    if let Err(e) = std::fs::rename(&into, &repo) {
        if !repo.join("HEAD").exists() {
            return Err(io(&repo)(e));
        }
    }
    Ok(repo)
}

/// The full SHA the coordinate names, fetching once if the mirror does not have it yet. With
/// a tag, the tag decides and the SHA must agree with it.
fn commit(repo: &Path, coord: &GitCoord, offline: bool) -> Result<String, GitError> {
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
    let sha = found.ok_or_else(|| GitError::NotFound {
        what: what.clone(),
        url: coord.url.clone(),
        offline,
    })?;
    if !sha.starts_with(&coord.sha) {
        return Err(GitError::TagIsNotSha {
            what,
            url: coord.url.clone(),
            found: sha,
            sha: coord.sha.clone(),
        });
    }
    Ok(sha)
}

/// Writes the commit's tree into `dest`, an empty directory (the rule's stage, which the
/// engine moves into place only once the rule succeeded), with its symbolic links made
/// files ([`materialize_links`]); returns the links left out.
pub fn export(repo: &Path, sha: &str, dest: &Path) -> Result<Vec<String>, GitError> {
    let mut archive = git(&[
        &format!("--git-dir={}", repo.display()),
        "archive",
        "--format=tar",
        sha,
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .map_err(|source| GitError::Run {
        tool: "git",
        source,
    })?;
    let untar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(dest)
        .stdin(archive.stdout.take().expect("piped"))
        .output()
        .map_err(|source| GitError::Run {
            tool: "tar",
            source,
        })?;
    let archived = archive.wait_with_output().map_err(|source| GitError::Run {
        tool: "git",
        source,
    })?;
    if !archived.status.success() || !untar.status.success() {
        return Err(GitError::Failed {
            what: format!("exporting {sha}"),
            stderr: format!(
                "{}{}",
                String::from_utf8_lossy(&archived.stderr).trim(),
                String::from_utf8_lossy(&untar.stderr).trim()
            ),
        });
    }
    materialize_links(dest)
}

/// Replaces each symbolic link in `tree` by a copy of the file it names inside the tree: a
/// product holds files only, and a link kept on disk would make every later build take the
/// export for modified. A link to a directory, or out of the tree, is removed; those are
/// returned, relative to `tree`.
pub fn materialize_links(tree: &Path) -> Result<Vec<String>, GitError> {
    let top = tree.canonicalize().map_err(io(tree))?;
    let links: Vec<PathBuf> = walkdir::WalkDir::new(tree)
        .into_iter()
        .flatten()
        .filter(|e| e.path_is_symlink())
        .map(walkdir::DirEntry::into_path)
        .collect();
    let mut left_out = Vec::new();
    for link in links {
        // Resolved to a file that is no link, so replacing one link never changes another's.
        let target = std::fs::canonicalize(&link)
            .ok()
            .filter(|t| t.starts_with(&top) && t.is_file());
        std::fs::remove_file(&link).map_err(io(&link))?;
        match target {
            Some(t) => {
                std::fs::copy(&t, &link).map_err(io(&link))?;
            }
            None => left_out.push(
                link.strip_prefix(tree)
                    .unwrap_or(&link)
                    .to_string_lossy()
                    .into_owned(),
            ),
        }
    }
    Ok(left_out)
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
    fn links_become_copies_of_the_files_they_name_inside_the_tree() {
        use std::os::unix::fs::symlink;
        let tree = tempfile::tempdir().unwrap();
        let t = tree.path();
        std::fs::create_dir_all(t.join("src/lib")).unwrap();
        std::fs::write(t.join("src/lib/a.clj"), "(ns lib.a)\n").unwrap();
        symlink("a.clj", t.join("src/lib/alias.clj")).unwrap();
        symlink("lib/alias.clj", t.join("src/twice.clj")).unwrap();
        symlink("lib", t.join("src/dir")).unwrap();
        symlink("/etc/hostname", t.join("out")).unwrap();
        symlink("missing", t.join("dangling")).unwrap();
        let mut left = materialize_links(t).unwrap();
        left.sort();
        assert_eq!(left, ["dangling", "out", "src/dir"]);
        for copy in ["src/lib/alias.clj", "src/twice.clj"] {
            let meta = std::fs::symlink_metadata(t.join(copy)).unwrap();
            assert!(meta.is_file(), "{copy}");
            assert_eq!(
                std::fs::read_to_string(t.join(copy)).unwrap(),
                "(ns lib.a)\n"
            );
        }
        for gone in ["src/dir", "out", "dangling"] {
            assert!(std::fs::symlink_metadata(t.join(gone)).is_err(), "{gone}");
        }
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
