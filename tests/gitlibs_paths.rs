//! A deps.edn git library's name becomes a directory in the project
//! (`.kbuild/gitlibs/<group>/<artifact>/<sha>`): a name that climbs out with `..` must be
//! refused before anything is fetched or written, as a build-file error (exit 2) that names
//! the lib and where it is written.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{git, Build};

/// Every file and directory under `dir`.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        out.push(e.path());
        if e.file_type().unwrap().is_dir() {
            out.extend(tree(&e.path()));
        }
    }
    out.sort();
    out
}

/// A git repository (served over file://) holding a small Clojure library; its URL and commit.
fn upstream(dir: &Path) -> (String, String) {
    git(dir, &["init", "--quiet"]);
    std::fs::write(dir.join("deps.edn"), "{:paths [\"src\"]}\n").unwrap();
    std::fs::create_dir_all(dir.join("src/evil")).unwrap();
    std::fs::write(dir.join("src/evil/core.clj"), "(ns evil.core)\n").unwrap();
    git(dir, &["add", "."]);
    git(dir, &["commit", "--quiet", "-m", "one"]);
    let sha = git(dir, &["rev-parse", "HEAD"]);
    (format!("file://{}", dir.display()), sha)
}

#[test]
fn a_git_lib_name_that_leaves_the_project_is_refused_and_nothing_is_written() {
    let upstream_dir = tempfile::tempdir().unwrap();
    let (url, sha) = upstream(upstream_dir.path());
    // The project sits alone in `outside`, so anything written beside it shows.
    let outside = tempfile::tempdir().unwrap();
    let project = outside.path().join("project");
    std::fs::create_dir(&project).unwrap();
    let gitlibs = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();

    // `.kbuild/gitlibs/x/../../../../escaped` is `outside/escaped`; the second stays in the
    // project but leaves `.kbuild/gitlibs`; the third climbs with the group.
    for lib in [
        "x/../../../../escaped",
        "../../../escaped",
        "../../x/escaped",
    ] {
        let deps = format!(
            "{{:paths [\"src\"]\n :deps {{{lib} {{:git/url \"{url}\" :git/sha \"{sha}\"}}}}}}\n"
        );
        std::fs::write(project.join("deps.edn"), &deps).unwrap();
        let b = Build::from(
            Command::new(env!("CARGO_BIN_EXE_kbuild"))
                .arg("classpath")
                .current_dir(&project)
                .env("GITLIBS", gitlibs.path())
                .env("KBUILD_CACHE", cache.path())
                .env("CI", "1")
                .output()
                .unwrap(),
        );
        assert_eq!(
            b.code,
            Some(2),
            "{lib}: a build-file error\nstdout: {}\nstderr: {}",
            b.stdout,
            b.stderr
        );
        assert!(
            b.stderr.contains(&format!("deps.edn:2:9: {lib}: "))
                && b.stderr.contains("`..`")
                && b.stderr.contains(".kbuild/gitlibs/"),
            "{lib}: the error names the file, the lib and the problem: {}",
            b.stderr
        );
        assert_eq!(
            tree(outside.path()),
            tree(outside.path())
                .into_iter()
                .filter(|p| p.starts_with(&project))
                .collect::<Vec<_>>(),
            "{lib}: written outside the project"
        );
        let written: Vec<PathBuf> = tree(&project)
            .into_iter()
            .filter(|p| p.ends_with("escaped") || p.ends_with(&sha) || p.ends_with("evil"))
            .collect();
        assert!(written.is_empty(), "{lib}: exported anyway: {written:?}");
        // Refused before fetching: the mirror was never cloned.
        assert!(tree(gitlibs.path()).is_empty(), "{lib}: fetched anyway");
    }
}
